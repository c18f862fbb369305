"""`quals import-fairseq`: a tiny fairseq-format BART checkpoint (state dict, args, dict.txt, GPT-2-format BPE
files, all built here; fairseq itself is not needed) becomes an HF checkpoint and then a bundle whose numbers
equal a reference computed from the fairseq state dict by a small numpy forward pass of fairseq's BART."""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import types
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.torch

D, FFN, HEADS, LAYERS, POSITIONS = 32, 64, 4, 2, 64
SEP = "ĠstrutConnector"


# -- a tiny GPT-2-format BPE and a fairseq dictionary --------------------------------------------------------

def _bpe_files(tmp: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """encoder.json + vocab.bpe in GPT-2's format, from a byte-level BPE trained here."""
    import tiny_models
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(tiny_models.corpus(400), trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[]))
    spec = json.loads(tok.to_str())["model"]
    vocab = dict(spec["vocab"])
    vocab[SEP] = len(vocab)  # as in GPT-2's encoder.json (50009): a token the BPE never produces
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    (tmp / "encoder.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp / "vocab.bpe").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return vocab, merges


def _dictionary(tmp: Path, bpe_vocab: dict[str, int]) -> list[str]:
    """dict.txt in fairseq's order (by count, not by BPE id), then madeupwords up to a multiple of 8.
    Returns the symbol of each fairseq index."""
    rng = random.Random(0)
    ids = [i for t, i in bpe_vocab.items() if t != SEP]
    rng.shuffle(ids)
    lines = [f"{i} {1000 - n}" for n, i in enumerate(ids)] + [f"{bpe_vocab[SEP]} 0"]
    n = 4 + len(lines)
    lines += [f"madeupword{k:04d} 0" for k in range((-n) % 8)]
    (tmp / "dict.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_id = {i: t for t, i in bpe_vocab.items()}
    return ["<s>", "<pad>", "</s>", "<unk>"] + [by_id[int(x.split()[0])] if x.split()[0].isdigit() else x.split()[0]
                                                for x in lines]


def _fairseq_state(vocab_size: int, seed: int = 0) -> dict:
    import torch

    g = torch.Generator().manual_seed(seed)

    def w(*shape, scale=0.2):
        return torch.randn(*shape, generator=g) * scale

    sd = {"encoder.embed_tokens.weight": w(vocab_size, D)}
    sd["decoder.embed_tokens.weight"] = sd["encoder.embed_tokens.weight"].clone()
    sd["decoder.output_projection.weight"] = sd["encoder.embed_tokens.weight"].clone()
    for side in ("encoder", "decoder"):
        sd[f"{side}.embed_positions.weight"] = w(POSITIONS + 2, D)
        sd[f"{side}.layernorm_embedding.weight"] = 1 + w(D, scale=0.1)
        sd[f"{side}.layernorm_embedding.bias"] = w(D, scale=0.1)
        sd[f"{side}.version"] = torch.tensor([3.0])
        attns = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
        for i in range(LAYERS):
            p = f"{side}.layers.{i}."
            for a in attns:
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    sd[p + f"{a}.{proj}.weight"] = w(D, D)
                    sd[p + f"{a}.{proj}.bias"] = w(D, scale=0.05)
                sd[p + f"{a}_layer_norm.weight"] = 1 + w(D, scale=0.1)
                sd[p + f"{a}_layer_norm.bias"] = w(D, scale=0.1)
            sd[p + "fc1.weight"], sd[p + "fc1.bias"] = w(FFN, D), w(FFN, scale=0.05)
            sd[p + "fc2.weight"], sd[p + "fc2.bias"] = w(D, FFN), w(D, scale=0.05)
            sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"] = 1 + w(D, scale=0.1), w(D, scale=0.1)
    return sd


def _args(**over) -> argparse.Namespace:
    a = dict(arch="bart_large", encoder_layers=LAYERS, decoder_layers=LAYERS, encoder_embed_dim=D,
             encoder_ffn_embed_dim=FFN, encoder_attention_heads=HEADS, decoder_attention_heads=HEADS,
             max_source_positions=POSITIONS, max_target_positions=POSITIONS, activation_fn="gelu", dropout=0.1,
             attention_dropout=0.1, no_scale_embedding=True, share_all_embeddings=True,
             encoder_normalize_before=False, decoder_normalize_before=False, layernorm_embedding=True)
    a.update(over)
    return argparse.Namespace(**a)


def _save(path: Path, sd: dict, args: argparse.Namespace) -> None:
    """torch.save a checkpoint as fairseq 0.9 writes it, fairseq's own objects in its training state included."""
    import torch

    meters = types.ModuleType("fairseq.meters")

    class AverageMeter:  # what fairseq 0.9 pickles in extra_state['train_meters']
        def __init__(self):
            self.val, self.avg, self.sum, self.count = 0.5, 0.5, 1.0, 2

    AverageMeter.__module__ = "fairseq.meters"
    AverageMeter.__qualname__ = "AverageMeter"
    meters.AverageMeter = AverageMeter
    sys.modules["fairseq"] = types.ModuleType("fairseq")
    sys.modules["fairseq.meters"] = meters
    try:
        torch.save({"args": args, "model": sd, "optimizer_history": [{"criterion_name": "x", "num_updates": 10}],
                    "extra_state": {"train_meters": {"loss": AverageMeter()}, "val_loss": 1.5},
                    "last_optimizer_state": {"state": {}, "param_groups": []}}, path)
    finally:
        del sys.modules["fairseq.meters"], sys.modules["fairseq"]


@pytest.fixture(scope="module")
def fairseq_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fairseq")
    vocab, _ = _bpe_files(tmp)
    symbols = _dictionary(tmp, vocab)
    sd = _fairseq_state(len(symbols))
    _save(tmp / "checkpoint2.pt", sd, _args())
    return tmp, symbols, sd


# -- a numpy forward pass of fairseq 0.9's BART ------------------------------------------------------------

def _ln(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x):  # fairseq's gelu: the erf form
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _attn(sd, p, q_in, kv_in, causal):
    def proj(name, x):
        return x @ sd[f"{p}.{name}.weight"].T + sd[f"{p}.{name}.bias"]

    hd = D // HEADS
    q = proj("q_proj", q_in) * hd ** -0.5
    k, v = proj("k_proj", kv_in), proj("v_proj", kv_in)
    tq, tk = q.shape[0], k.shape[0]
    q, k, v = (x.reshape(-1, HEADS, hd).transpose(1, 0, 2) for x in (q, k, v))
    scores = q @ k.transpose(0, 2, 1)
    if causal:
        scores = scores + np.triu(np.full((tq, tk), -np.inf), 1)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    out = (scores @ v).transpose(1, 0, 2).reshape(tq, D)
    return out @ sd[f"{p}.out_proj.weight"].T + sd[f"{p}.out_proj.bias"]


def fairseq_logprobs(sd_t, src_ids, prev_ids):
    """log p(. | prev, src) at every target position: (T, V). Post-norm layers, learned positions from
    padding_idx + 1 = 2, layernorm_embedding, no embedding scale (BART), output = the shared embedding."""
    sd = {k: v.double().numpy() for k, v in sd_t.items()}
    emb = sd["encoder.embed_tokens.weight"]

    def embed(side, ids):
        x = emb[ids] + sd[f"{side}.embed_positions.weight"][np.arange(len(ids)) + 2]
        return _ln(x, sd[f"{side}.layernorm_embedding.weight"], sd[f"{side}.layernorm_embedding.bias"])

    x = embed("encoder", src_ids)
    for i in range(LAYERS):
        p = f"encoder.layers.{i}."
        x = _ln(x + _attn(sd, p + "self_attn", x, x, False), sd[p + "self_attn_layer_norm.weight"],
                sd[p + "self_attn_layer_norm.bias"])
        h = _gelu(x @ sd[p + "fc1.weight"].T + sd[p + "fc1.bias"]) @ sd[p + "fc2.weight"].T + sd[p + "fc2.bias"]
        x = _ln(x + h, sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"])
    enc = x
    y = embed("decoder", prev_ids)
    for i in range(LAYERS):
        p = f"decoder.layers.{i}."
        y = _ln(y + _attn(sd, p + "self_attn", y, y, True), sd[p + "self_attn_layer_norm.weight"],
                sd[p + "self_attn_layer_norm.bias"])
        y = _ln(y + _attn(sd, p + "encoder_attn", y, enc, False), sd[p + "encoder_attn_layer_norm.weight"],
                sd[p + "encoder_attn_layer_norm.bias"])
        h = _gelu(y @ sd[p + "fc1.weight"].T + sd[p + "fc1.bias"]) @ sd[p + "fc2.weight"].T + sd[p + "fc2.bias"]
        y = _ln(y + h, sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"])
    logits = y @ emb.T
    logits -= logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


# -- a reference of fairseq's encode: GPT-2 BPE, then the dictionary --------------------------------------

def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def fairseq_encode(text: str, tmp: Path, symbols: list[str]) -> list[int]:
    import regex

    ranks = {tuple(line.split(" ")): i for i, line in enumerate(
        (tmp / "vocab.bpe").read_text(encoding="utf-8").splitlines()[1:])}
    pat = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    b2u = _bytes_to_unicode()
    index = {s: i for i, s in enumerate(symbols)}
    out = []
    for piece in pat.findall(text):
        word = [b2u[b] for b in piece.encode("utf-8")]
        while len(word) > 1:
            pairs = [(ranks.get((a, b), math.inf), j) for j, (a, b) in enumerate(zip(word, word[1:]))]
            r, j = min(pairs)
            if r == math.inf:
                break
            word = word[:j] + [word[j] + word[j + 1]] + word[j + 2:]
        out += [index.get(t, 3) for t in word]
    return out


TEXTS = ["Anna built a bridge in Paris in 1990.", "Who sold the school? Chen", "Émeka visited Kyoto, and why?"]


def test_imported_model_equals_the_fairseq_reference(fairseq_dir, tmp_path):
    import torch
    from quals.export.fairseq_import import import_fairseq
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tmp, symbols, sd = fairseq_dir
    hf = import_fairseq(tmp / "checkpoint2.pt", tmp / "dict.txt", tmp_path / "hf")
    tok = AutoTokenizer.from_pretrained(hf)
    model = AutoModelForSeq2SeqLM.from_pretrained(hf).eval()
    for text in TEXTS:
        ids = tok(text, add_special_tokens=False).input_ids
        assert ids == fairseq_encode(text, tmp, symbols)  # fairseq's encode: BPE, then dict.txt's indices
        assert tok.decode(ids) == text  # and its decode
    src = fairseq_encode(TEXTS[0], tmp, symbols) + [2]  # the authors' encoding: no <s>, EOS appended
    tgt = fairseq_encode("Who built it?", tmp, symbols) + [symbols.index(SEP)] + fairseq_encode("Anna", tmp,
                                                                                                  symbols) + [2]
    prev = [2] + tgt[:-1]  # fairseq moves EOS to the front
    ref = fairseq_logprobs(sd, np.array(src), np.array(prev))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([prev])).logits[0]
    got = torch.log_softmax(logits.double(), -1).numpy()
    assert np.abs(got - ref).max() < 1e-4
    assert tok.convert_ids_to_tokens(symbols.index(SEP)) == SEP
    prov = json.loads((hf / "quals_import.json").read_text())
    assert prov["separator"] == SEP and prov["tokenizer"]["merges_dropped"] == 0


def test_import_then_export_keeps_the_numbers(fairseq_dir, tmp_path):
    from click.testing import CliRunner
    from quals import Scorer
    from quals.cli import main

    tmp, symbols, sd = fairseq_dir
    r = CliRunner().invoke(main, ["import-fairseq", str(tmp / "checkpoint2.pt"), "--dict", str(tmp / "dict.txt"),
                                  str(tmp_path / "hf")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["export", str(tmp_path / "hf"), str(tmp_path / "bundle")])
    assert r.exit_code == 0, r.output
    scorer = Scorer.load(tmp_path / "bundle")
    m = scorer.manifest
    assert m.separator.text == " strutConnector" and m.separator.id == symbols.index(SEP)
    assert (m.tokens.eos, m.tokens.pad, m.tokens.decoder_start) == (2, 1, 2) and not m.encoding.prepend_bos
    src = scorer.codec.encode(TEXTS[0])
    assert list(src.ids) == fairseq_encode(TEXTS[0], tmp, symbols) + [2]
    target = scorer.codec.qa_target("Who built it?", "Anna", m.separator.id)
    enc = scorer.engine.encode(src.ids)
    (logp,) = scorer.engine.teacher_forced(enc, [target])
    ref = fairseq_logprobs(sd, np.array(src.ids), np.array([2] + target[:-1]))
    want = ref[np.arange(len(target)), target]
    assert np.abs(np.asarray(logp) - want).max() < 1e-3  # the exporter's tolerance


def test_refusals_name_the_reason(fairseq_dir, tmp_path):
    import pickle

    import torch
    from quals.export.fairseq_import import FairseqImportError, import_fairseq

    tmp, symbols, sd = fairseq_dir
    cases = {
        "arch": (sd, _args(arch="transformer_wmt_en_de"), "is not a BART"),
        "prenorm": (sd, _args(encoder_normalize_before=True), "pre-norm"),
        "no-lne": ({k: v for k, v in sd.items() if "layernorm_embedding" not in k}, _args(), "layernorm_embedding"),
        "head": ({**sd, "classification_heads.mnli.dense.weight": torch.zeros(2, 2)}, _args(), "does not have"),
        "untied": ({**sd, "decoder.output_projection.weight": sd["encoder.embed_tokens.weight"] + 1}, _args(),
                   "not shared"),
    }
    for name, (state, args, reason) in cases.items():
        path = tmp_path / f"{name}.pt"
        _save(path, state, args)
        with pytest.raises(FairseqImportError, match=reason):
            import_fairseq(path, tmp / "dict.txt", tmp_path / f"out-{name}")

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.pt"
    torch.save({"model": {}, "args": _args(), "x": Evil()}, evil, pickle_module=pickle)
    with pytest.raises(FairseqImportError, match="would call print.*refused"):
        import_fairseq(evil, tmp / "dict.txt", tmp_path / "out-evil")
    short = tmp_path / "short.txt"
    short.write_text("".join(line + "\n" for line in (tmp / "dict.txt").read_text().splitlines()[:-8]))
    with pytest.raises(FairseqImportError, match="not this checkpoint's dictionary"):
        import_fairseq(tmp / "checkpoint2.pt", short, tmp_path / "out-short", bpe_dir=tmp)
