"""A WordPiece vocabulary trimmed to the pieces the training text uses, and the model rows that go with it.

Why: the output layer (d_model x vocabulary) is most of the search's arithmetic and a large share of a training
step's; MiniLM's 30,522 pieces include thousands that English training text never produces (CJK characters,
[unusedN], rare sub-words). Trimming keeps
- the special tokens and the QA separator,
- every single-character piece and its `##` form (so a word that the full vocabulary could spell without
  [UNK] is still spelled without [UNK]: WordPiece falls back to shorter pieces),
- every other piece used at least `min_count` times in the training text (a rarer piece's words are then
  spelled with shorter pieces: the sub-piece rate that `rates` reports).
Ids are renumbered in the old order, so [PAD] stays 0 and the kept rows of the embedding (and of the tied output
layer and its bias) are the old rows: a warm start keeps what the model learned for every kept piece.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable
from dataclasses import dataclass

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class Trimmed:
    tokenizer_json: str  # the trimmed tokenizer, serialized as tokenizers' tokenizer.json
    old_ids: tuple[int, ...]  # new id -> id in the full vocabulary (the embedding rows to keep)

    @property
    def size(self) -> int:
        return len(self.old_ids)


def piece_counts(backend, texts: Iterable[str], batch: int = 2048) -> collections.Counter:
    """How often each piece id occurs when `backend` (a tokenizers.Tokenizer) encodes `texts`."""
    counts: collections.Counter = collections.Counter()
    chunk: list[str] = []
    for t in texts:
        chunk.append(t)
        if len(chunk) == batch:
            for e in backend.encode_batch(chunk, add_special_tokens=False):
                counts.update(e.ids)
            chunk = []
    for e in backend.encode_batch(chunk, add_special_tokens=False):
        counts.update(e.ids)
    return counts


def example_counts(backend, examples) -> collections.Counter:
    """piece_counts over the distinct texts (contexts, questions, answers) of training examples (data.QAExample)."""
    return piece_counts(backend, sorted({t for e in examples for t in (e.context, e.question, e.answer)}))


def trim(tokenizer_json: str, counts: collections.Counter, *, min_count: int, keep: Iterable[str] = ()) -> Trimmed:
    """The vocabulary of `tokenizer_json` (a WordPiece tokenizer.json) cut to the pieces above; `keep` names
    tokens kept whatever their count (the QA separator)."""
    spec = json.loads(tokenizer_json)
    model = spec["model"]
    if model.get("type") != "WordPiece":
        raise ValueError(f"only WordPiece vocabularies can be trimmed, not {model.get('type')}")
    prefix = model.get("continuing_subword_prefix", "##")
    vocab: dict[str, int] = model["vocab"]
    must = set(SPECIAL) | set(keep) | {a["content"] for a in spec.get("added_tokens", [])}
    missing = sorted(t for t in must if t not in vocab)
    if missing:
        raise ValueError(f"tokens to keep are not in the vocabulary: {missing}")

    def kept(piece: str, old: int) -> bool:
        return piece in must or len(piece.removeprefix(prefix)) == 1 or counts.get(old, 0) >= min_count

    old_ids = sorted(i for p, i in vocab.items() if kept(p, i))
    new_of = {old: new for new, old in enumerate(old_ids)}
    by_old = {i: p for p, i in vocab.items()}
    model["vocab"] = {by_old[old]: new for new, old in enumerate(old_ids)}
    for added in spec.get("added_tokens", []):
        added["id"] = new_of[added["id"]]
    post = spec.get("post_processor") or {}
    for tok in (post.get("special_tokens") or {}).values():
        tok["ids"] = [new_of[i] for i in tok["ids"]]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_of[spec["padding"]["pad_id"]]
    return Trimmed(json.dumps(spec, ensure_ascii=False), tuple(old_ids))


def rates(backend, texts: Iterable[str]) -> dict:
    """[UNK] rate (of pieces) and sub-piece rate (pieces per whitespace-separated word) of `texts`."""
    unk = backend.token_to_id("[UNK]")
    pieces = unks = words = 0
    for t in texts:
        e = backend.encode(t, add_special_tokens=False)
        pieces += len(e.ids)
        unks += sum(1 for i in e.ids if i == unk)
        words += len(t.split())
    return {"pieces": pieces, "words": words, "unk_rate": unks / max(1, pieces),
            "pieces_per_word": pieces / max(1, words)}


def reshaped(model, *, old_ids: tuple[int, ...] | None = None, token_ids: dict[str, int] | None = None,
             decoder_layers: int | None = None):
    """A new BART with `model`'s weights: the vocabulary cut to `old_ids`' rows (embedding, tied output layer,
    final_logits_bias) with the special-token ids of `token_ids` (config names: pad_token_id...), and/or the
    decoder deepened to `decoder_layers` (new layer j copies old layer j * old // new, so a layer is followed by
    its own copy: the deeper stack starts close to the function of the shallow one)."""
    import torch
    from transformers import BartForConditionalGeneration

    cfg = model.config.to_dict()
    state = model.state_dict()
    if old_ids is not None:
        idx = torch.tensor(old_ids, dtype=torch.long)
        vocab = cfg["vocab_size"]
        for k, v in list(state.items()):
            if k == "final_logits_bias":
                state[k] = v[:, idx].clone()
            elif v.dim() == 2 and v.shape[0] == vocab and ("embed_tokens" in k or "shared" in k or "lm_head" in k):
                state[k] = v[idx].clone()
        cfg["vocab_size"] = len(old_ids)
        cfg.update(token_ids or {})
    if decoder_layers is not None and decoder_layers != cfg["decoder_layers"]:
        old = cfg["decoder_layers"]
        pre = "model.decoder.layers."
        layers = {k: v for k, v in state.items() if k.startswith(pre)}
        state = {k: v for k, v in state.items() if not k.startswith(pre)}
        for j in range(decoder_layers):
            src = f"{pre}{j * old // decoder_layers}."
            state.update({f"{pre}{j}." + k[len(src):]: v.clone() for k, v in layers.items() if k.startswith(src)})
        cfg["decoder_layers"] = decoder_layers
    new = BartForConditionalGeneration(type(model.config).from_dict(cfg))
    new.load_state_dict(state)
    new.tie_weights()
    return new


def main() -> None:
    """python -m quals.train.vocab: size, [UNK] rate and pieces per word of the vocabulary cut at each count."""
    import argparse
    import json
    from pathlib import Path

    from tokenizers import Tokenizer

    from . import data, warmstart

    p = argparse.ArgumentParser(prog="python -m quals.train.vocab", description=main.__doc__)
    p.add_argument("--work", type=Path, default=Path("build/train-default"), help="holds the run's train.jsonl")
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--synthetic", type=Path, default=Path("build/eval/synthetic.jsonl"))
    p.add_argument("--min-count", type=int, action="append", help="repeatable (default: 1 20 50 100 200 400)")
    a = p.parse_args()
    examples = [data.QAExample(**r) for r in data.read_jsonl(a.work / "train.jsonl")]
    backend = warmstart.build_tokenizer(warmstart.minilm_dir()).backend_tokenizer
    counts = example_counts(backend, examples)
    sets = {}
    for name in ("summeval", "polytope", "goyal21", "gofigure"):
        rows = data.read_jsonl(a.data / "eval" / f"{name}.jsonl")
        sets[name] = sorted({r["source"] for r in rows} | {r["summary"] for r in rows})
    if a.synthetic.is_file():
        rows = data.read_jsonl(a.synthetic)
        sets["synthetic"] = sorted({r["source"] for r in rows} | {r["summary"] for r in rows})
    for min_count in [None, *(a.min_count or [1, 20, 50, 100, 200, 400])]:
        if min_count is None:
            tok, size = backend, backend.get_vocab_size()
        else:
            cut = trim(backend.to_str(), counts, min_count=min_count, keep=[warmstart.SEPARATOR])
            tok, size = Tokenizer.from_str(cut.tokenizer_json), cut.size
        row = {"min_count": min_count, "size": size}
        for name, texts in sets.items():
            r = rates(tok, texts)
            row[name] = {"pieces_per_word": round(r["pieces_per_word"], 4), "unk_rate": r["unk_rate"]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
