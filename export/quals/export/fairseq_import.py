"""Import a fairseq 0.9 BART checkpoint (the QUALS authors' QAGen format) as a Hugging Face checkpoint.

The authors trained and shipped QAGen as fairseq's `checkpoint*.pt` + `dict.txt` with GPT-2 BPE, questions
and answers joined by " strutConnector" (docs/fairseq.md). This turns such a checkpoint into a local HF
BART checkpoint with a fast tokenizer that encodes and decodes as fairseq did, so that `quals export` makes
a bundle of it with the numbers unchanged.

- **Loading runs no code from the file.** `torch.load(weights_only=True)`: only tensors, containers and
  `argparse.Namespace` (fairseq's `args`) are built; fairseq's own objects (meters, iterator states) and
  numpy scalars in the training state are replaced by inert stand-ins, since nothing of them is used; any
  other callable the pickle names (`os.system`...) refuses the file.
- **The model.** fairseq's keys map one to one onto HF's BART (`encoder.layers.N...` ->
  `model.encoder.layers.N...`); older `in_proj_weight` attention is split into q/k/v; the embedding is
  shared by encoder, decoder and output (BART's `share_all_embeddings`); the learned positions carry
  fairseq's offset of 2 (`padding_idx + 1`), which is HF BART's too; `layernorm_embedding` is kept; there is
  no `final_logits_bias` in fairseq (zeros). Anything that is not a BART (a pre-norm mBART, no
  layernorm_embedding, an unknown key, an untied output layer) is refused with the reason.
- **The vocabulary.** fairseq's index i is `<s> <pad> </s> <unk>` for 0-3, then line i-4 of `dict.txt`,
  whose first field is a GPT-2 BPE id (looked up in `encoder.json`) or a literal symbol (`madeupword0000`,
  `<mask>`). The HF tokenizer is byte-level BPE with `vocab.bpe`'s merges and that mapping, no prefix space:
  fairseq's `encode` (BPE, then the dictionary's indices) and `decode` (the reverse) exactly. A BPE token
  that dict.txt lacks is `<unk>` in fairseq; HF's BPE cannot map a merge to an unknown token, so such merges
  are dropped (counted in `quals_import.json`; none for the authors' GPT-2 dictionary).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path
from typing import Any

from quals.errors import QualsError

log = logging.getLogger("quals.export")

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")  # fairseq Dictionary's first four indices
SEPARATOR = "ĠstrutConnector"  # the authors' QA separator (GPT-2 BPE 50009, fairseq index 50259)
PROVENANCE_FILE = "quals_import.json"
_SAFE_PREFIXES = ("fairseq.", "numpy.")  # stand-ins: training state (meters, RNG states) quals never reads
_UNSUPPORTED = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")  # torch's weights-only refusal


class FairseqImportError(QualsError):
    """The file is not a fairseq BART checkpoint quals can import (the message says why)."""


# -- loading, without running code -------------------------------------------------------------------------

def _stand_in(name: str) -> type:
    """An inert class for a global of the training state: instances keep nothing and do nothing."""
    module, _, qual = name.rpartition(".")

    def init(self, *args, **kwargs):
        pass

    def setstate(self, state):
        pass

    return type(qual or name, (), {"__module__": module, "__init__": init, "__setstate__": setstate})


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's dict (`model`, `args`...), loaded with torch's weights-only unpickler."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FairseqImportError(f"{path}: no such checkpoint file")
    allowed: list = [argparse.Namespace]
    stood_in: set[str] = set()
    for _ in range(64):  # one retry per distinct global the file names
        try:
            with torch.serialization.safe_globals(allowed):
                ckpt = torch.load(path, map_location="cpu", weights_only=True)
            break
        except Exception as exc:  # torch raises pickle.UnpicklingError (and others for non-checkpoints)
            m = _UNSUPPORTED.search(str(exc))
            if m is None:
                raise FairseqImportError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: "
                                         f"{str(exc).splitlines()[0][:200]})") from exc
            name = m.group(1)
            if not name.startswith(_SAFE_PREFIXES):
                raise FairseqImportError(
                    f"{path}: loading it would call {name}, which is neither a tensor, a container nor fairseq's "
                    "training state; refused (quals never runs code from a checkpoint)") from exc
            if name in stood_in:
                raise FairseqImportError(f"{path}: cannot load {name} even as an inert stand-in ({exc})") from exc
            log.info("%s: %s replaced by an inert stand-in", path.name, name)
            stood_in.add(name)
            allowed.append((_stand_in(name), name))
    else:
        raise FairseqImportError(f"{path}: too many unknown objects in the checkpoint")
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise FairseqImportError(f"{path}: not a fairseq checkpoint (no 'model' state dict)")
    return ckpt


def _args(ckpt: dict[str, Any]) -> dict[str, Any]:
    args = ckpt.get("args")
    if args is None and isinstance(ckpt.get("cfg"), dict):  # fairseq >= 0.10 keeps a config dict instead
        args = ckpt["cfg"].get("model")
    if isinstance(args, argparse.Namespace):
        return vars(args)
    if isinstance(args, dict):
        return dict(args)
    return {}


# -- the model ---------------------------------------------------------------------------------------------

_LAYER = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")
_LAYER_PARTS = {
    "encoder": ("self_attn.", "self_attn_layer_norm.", "fc1.", "fc2.", "final_layer_norm."),
    "decoder": ("self_attn.", "self_attn_layer_norm.", "encoder_attn.", "encoder_attn_layer_norm.", "fc1.", "fc2.",
                "final_layer_norm."),
}
_IGNORED = re.compile(r"^(encoder|decoder)\.(version|embed_positions\._float_tensor)$")


def _split_in_proj(sd: dict[str, Any]) -> dict[str, Any]:
    """fairseq < 0.8 kept q, k and v in one `in_proj_weight` / `in_proj_bias` (in that order)."""
    out = {}
    for k, v in sd.items():
        m = re.match(r"^(.*)\.in_proj_(weight|bias)$", k)
        if m is None:
            out[k] = v
            continue
        for name, part in zip(("q_proj", "k_proj", "v_proj"), v.chunk(3, dim=0)):
            out[f"{m.group(1)}.{name}.{m.group(2)}"] = part
    return out


def map_state_dict(sd: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """HF BartForConditionalGeneration's state dict from fairseq's, and the shapes read off it."""
    sd = _split_in_proj({k: v for k, v in sd.items() if not _IGNORED.match(k)})
    need = ["encoder.embed_tokens.weight", "encoder.embed_positions.weight", "decoder.embed_positions.weight",
            "encoder.layernorm_embedding.weight", "decoder.layernorm_embedding.weight"]
    missing = [k for k in need if k not in sd]
    if missing:
        hint = " (no layernorm_embedding: a plain transformer, not a BART)" if any("layernorm_embedding" in k
                                                                                   for k in missing) else ""
        raise FairseqImportError(f"not a fairseq BART state dict: missing {', '.join(missing)}{hint}")
    for side in ("encoder", "decoder"):
        if f"{side}.layer_norm.weight" in sd:
            raise FairseqImportError(f"{side}.layer_norm is present: a pre-norm model (mBART), not a BART; "
                                     "quals imports BART only")
    emb = sd["encoder.embed_tokens.weight"]
    for k in ("decoder.embed_tokens.weight", "decoder.output_projection.weight"):
        if k in sd and (sd[k].shape != emb.shape or not bool((sd[k] == emb).all())):
            raise FairseqImportError(f"{k} differs from encoder.embed_tokens.weight: the embeddings are not "
                                     "shared (BART's share_all_embeddings); not supported")
    out = {"model.shared.weight": emb, "model.encoder.embed_tokens.weight": emb,
           "model.decoder.embed_tokens.weight": emb, "lm_head.weight": emb}
    used = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "decoder.output_projection.weight"}
    for side in ("encoder", "decoder"):
        for part in ("embed_positions.weight", "layernorm_embedding.weight", "layernorm_embedding.bias"):
            key = f"{side}.{part}"
            if key in sd:
                out[f"model.{key}"] = sd[key]
                used.add(key)
    layers = {"encoder": 0, "decoder": 0}
    unknown = []
    for k, v in sd.items():
        if k in used:
            continue
        m = _LAYER.match(k)
        if m and m.group(3).startswith(_LAYER_PARTS[m.group(1)]):
            out[f"model.{k}"] = v
            layers[m.group(1)] = max(layers[m.group(1)], int(m.group(2)) + 1)
        else:
            unknown.append(k)
    if unknown:
        raise FairseqImportError(f"keys a BART does not have: {', '.join(sorted(unknown)[:8])}"
                                 f"{' ...' if len(unknown) > 8 else ''} (a classification head or another "
                                 "architecture); not imported")
    pos = sd["encoder.embed_positions.weight"]
    shapes = {
        "vocab_size": int(emb.shape[0]), "d_model": int(emb.shape[1]), "positions": int(pos.shape[0]),
        "decoder_positions": int(sd["decoder.embed_positions.weight"].shape[0]),
        "encoder_layers": layers["encoder"], "decoder_layers": layers["decoder"],
        "encoder_ffn_dim": int(sd["encoder.layers.0.fc1.weight"].shape[0]),
        "decoder_ffn_dim": int(sd["decoder.layers.0.fc1.weight"].shape[0]),
    }
    return out, shapes


def bart_config(args: dict[str, Any], shapes: dict[str, int]):
    """A BartConfig from fairseq's args and the shapes of the weights (the weights win where both say)."""
    from transformers import BartConfig

    arch = str(args.get("arch", ""))
    if arch and not arch.startswith("bart"):
        raise FairseqImportError(f"arch {arch!r} is not a BART (quals imports fairseq BART checkpoints only)")
    if args.get("encoder_normalize_before") or args.get("decoder_normalize_before"):
        raise FairseqImportError("encoder/decoder_normalize_before is set: a pre-norm model (mBART), not a BART")
    if shapes["positions"] != shapes["decoder_positions"]:
        raise FairseqImportError("encoder and decoder position tables differ in size; not supported")
    heads = {side: args.get(f"{side}_attention_heads") for side in ("encoder", "decoder")}
    d = shapes["d_model"]
    for side, h in heads.items():
        if not isinstance(h, int) or h < 1 or d % h:
            raise FairseqImportError(f"args.{side}_attention_heads is {h!r}: the number of heads cannot be read off "
                                     "the weights, and the checkpoint's args do not give a valid one")
    act = str(args.get("activation_fn", "gelu"))
    return BartConfig(
        vocab_size=shapes["vocab_size"], d_model=d, max_position_embeddings=shapes["positions"] - 2,
        encoder_layers=shapes["encoder_layers"], decoder_layers=shapes["decoder_layers"],
        encoder_attention_heads=heads["encoder"], decoder_attention_heads=heads["decoder"],
        encoder_ffn_dim=shapes["encoder_ffn_dim"], decoder_ffn_dim=shapes["decoder_ffn_dim"],
        activation_function=act, dropout=float(args.get("dropout", 0.1)),
        attention_dropout=float(args.get("attention_dropout", 0.0)),
        activation_dropout=float(args.get("activation_dropout", 0.0)),
        scale_embedding=not bool(args.get("no_scale_embedding", True)),
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        forced_bos_token_id=None, forced_eos_token_id=2,  # QAGen runs with no <s> (docs/fairseq.md)
        tie_word_embeddings=True, is_encoder_decoder=True,
    )


# -- the tokenizer -----------------------------------------------------------------------------------------

def read_dictionary(path: str | Path) -> list[str]:
    """The symbols of a fairseq dict.txt, in index order after the four specials (`SYMBOL COUNT [flag]`)."""
    symbols = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rstrip().rsplit(" ", 2 if line.rstrip().endswith("#fairseq:overwrite") else 1)
        if len(parts) < 2 or not parts[1].lstrip("-").isdigit():
            raise FairseqImportError(f"{path}:{n}: not a fairseq dictionary line ('SYMBOL COUNT'): {line[:60]!r}")
        symbols.append(parts[0])
    return symbols


def build_tokenizer(dict_path: Path, encoder_json: Path, vocab_bpe: Path) -> tuple[Any, dict[str, int]]:
    """A byte-level BPE `tokenizers.Tokenizer` whose ids are fairseq's indices, and what it had to drop."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    for f in (dict_path, encoder_json, vocab_bpe):
        if not f.is_file():
            raise FairseqImportError(f"{f}: not found (the GPT-2 BPE files encoder.json and vocab.bpe, and dict.txt)")
    bpe_ids = json.loads(encoder_json.read_text(encoding="utf-8"))
    by_bpe_id = {int(i): tok for tok, i in bpe_ids.items()}
    vocab: dict[str, int] = {s: i for i, s in enumerate(SPECIALS)}
    for i, sym in enumerate(read_dictionary(dict_path), start=len(SPECIALS)):
        tok = by_bpe_id.get(int(sym)) if sym.isdigit() else sym
        if tok is None:
            raise FairseqImportError(f"{dict_path}: symbol {sym} (index {i}) is not a BPE id of {encoder_json}")
        vocab.setdefault(tok, i)
    merges, dropped = [], 0
    for line in vocab_bpe.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#version"):
            continue
        a, b = line.split(" ")
        if a in vocab and b in vocab and a + b in vocab:
            merges.append((a, b))
        else:
            dropped += 1  # the merged token is unknown to fairseq (it would be <unk>): see the module docstring
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    return tok, {"vocabulary": len(vocab), "merges": len(merges), "merges_dropped": dropped}


# -- the whole import --------------------------------------------------------------------------------------

def import_fairseq(checkpoint: str | Path, dict_path: str | Path, out: str | Path, *,
                   bpe_dir: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write a Hugging Face BART checkpoint (config, weights, fast tokenizer) for a fairseq 0.9 BART."""
    import torch
    from transformers import BartForConditionalGeneration, PreTrainedTokenizerFast

    checkpoint, dict_path, out = Path(checkpoint), Path(dict_path), Path(out)
    bpe = Path(bpe_dir) if bpe_dir is not None else dict_path.parent
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FairseqImportError(f"{out}: exists and is not empty (pass --overwrite)")
    ckpt = load_checkpoint(checkpoint)
    args = _args(ckpt)
    state, shapes = map_state_dict(ckpt["model"])
    config = bart_config(args, shapes)
    backend, tok_stats = build_tokenizer(dict_path, bpe / "encoder.json", bpe / "vocab.bpe")
    n_dict = len(read_dictionary(dict_path)) + len(SPECIALS)
    if n_dict != shapes["vocab_size"]:
        raise FairseqImportError(f"{dict_path} has {n_dict} symbols (with the 4 specials) but the embedding has "
                                 f"{shapes['vocab_size']} rows: not this checkpoint's dictionary")
    if backend.token_to_id(SEPARATOR) is None:
        log.warning("%s is not in the dictionary: give quals export the QA separator with --separator", SEPARATOR)
    model = BartForConditionalGeneration(config)
    state["final_logits_bias"] = torch.zeros(1, shapes["vocab_size"])
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    missing = [k for k in missing if not k.endswith("embed_tokens.weight") and k != "lm_head.weight"]
    if missing or unexpected:
        raise FairseqImportError(f"the mapped weights do not fit a BART of these shapes (missing {missing[:4]}, "
                                 f"unexpected {unexpected[:4]})")
    model.tie_weights()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    fast = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", model_input_names=["input_ids", "attention_mask"])
    fast.save_pretrained(out)
    (out / PROVENANCE_FILE).write_text(json.dumps({
        "source": "fairseq", "checkpoint": checkpoint.name, "dictionary": dict_path.name,
        "arch": args.get("arch"), "tokenizer": tok_stats, "shapes": shapes,
        "separator": SEPARATOR if backend.token_to_id(SEPARATOR) is not None else None,
    }, indent=1) + "\n", encoding="utf-8")
    return out
