"""The default model's recipe, step by step: data -> warm start -> train -> HF checkpoint.

Export, quantisation and the model card are separate steps (`quals.train.release`), so that a finished
training run is never redone because a later step failed.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from . import curve, data, loop, mixture_v4, vocab, warmstart

log = logging.getLogger("quals.train")


# v1: the shipped default model's (FairytaleQA + heuristic cloze); v2: real human QA; v3: v1 + v2's sources at
# half v2's size, continuing a v1 model (`init`: its bundle) instead of starting from MiniLM
MIXTURES = ("v1", "v2", "v3", "v4")
CONTINUES = ("v3", "v4")  # mixtures that continue the model of a bundle (init)


def training_sets(work: Path, key: dict, build) -> dict[str, list[data.QAExample]]:
    """The run's examples: built (and written to work/{train,val}.jsonl) for a new run; read back from those
    files when they were built for the same `key` (mixture, seed...), so that a rerun does not spend minutes of
    spaCy on examples it already has. A run that resumes from a checkpoint keeps the examples it started with
    even if the data code changed since (its batch plan and position index them); a fresh run rebuilds them
    unless they were built by the same data code."""
    names = ("train", "val")
    stamp = work / "data.json"
    code = _data_code_digest()
    found = json.loads(stamp.read_text()) if stamp.is_file() else None
    have = found is not None and all((work / f"{n}.jsonl").is_file() for n in names)
    resuming = (work / "state.pt").is_file()
    if have and {k: v for k, v in found.items() if k != "code"} == key and (resuming or found.get("code") == code):
        if found.get("code") != code:
            log.warning("data: the code that builds examples changed since this run started; it resumes with the "
                        "examples it started with")
        log.info("data: resuming with %s", ", ".join(str(work / f"{n}.jsonl") for n in names))
        return {n: [data.QAExample(**row) for row in data.read_jsonl(work / f"{n}.jsonl")] for n in names}
    key = {**key, "code": code}
    stamp.unlink(missing_ok=True)
    sets = build()
    for name in names:
        tmp = work / f"{name}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            for e in sets[name]:
                f.write(e.to_json() + "\n")
        tmp.replace(work / f"{name}.jsonl")
    stamp.write_text(json.dumps(key) + "\n")
    return sets


def _data_code_digest() -> str:
    """sha256 of the modules that build examples: examples built by other code are built again."""
    import hashlib

    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("data.py", "mixture_v4.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _bundle_id(bundle: Path) -> str:
    """The id a score signature names (`bundle:` + 12 hex digits), without starting ONNX sessions."""
    from quals.bundle import load_bundle

    return f"bundle:{load_bundle(bundle, verify=False).digest[:12]}"


def init_recipe(bundle: Path) -> dict:
    """What the model card of the bundle a run continues says about its own training (data and steps), so that
    the new card can state the whole recipe; the bundle itself leaves models/default when the new model ships."""
    import re

    card = bundle / "MODEL_CARD.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    keep, lines = False, []
    for line in text.split("\n"):
        if line.startswith("## "):
            keep = line in ("## Training data", "## Training")
        elif keep and line.startswith("- "):
            lines.append(line)
    minutes = re.search(r"(\d+) min of training", "\n".join(lines))
    return {"init": _bundle_id(bundle), "init_recipe": lines,
            "init_training_minutes": float(minutes.group(1)) if minutes else None}


def save_checkpoint(model, tok, out: Path) -> Path:
    """The HF checkpoint that `quals.train.release` exports: no forced BOS/EOS (the QA format has neither)."""
    model.eval()
    model.generation_config.forced_bos_token_id = None
    model.generation_config.forced_eos_token_id = None
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def reshape(tok, model, examples: list[data.QAExample], *, vocab_min_count: int | None,
            decoder_layers: int | None):
    """The tokenizer and model cut to the pieces the training text uses at least `vocab_min_count` times
    (quals.train.vocab) and/or with a decoder of `decoder_layers` layers; returns (tok, model, facts for the
    run's stats). Deterministic: a resumed run rebuilds the same shapes before loading its checkpoint."""
    facts: dict = {"vocab_size_before": model.config.vocab_size}
    old_ids = None
    if vocab_min_count is not None:
        from tokenizers import Tokenizer

        backend = tok.backend_tokenizer
        cut = vocab.trim(backend.to_str(), vocab.example_counts(backend, examples), min_count=vocab_min_count,
                         keep=[warmstart.SEPARATOR])

        tok = warmstart.wrap_tokenizer(Tokenizer.from_str(cut.tokenizer_json))
        old_ids = cut.old_ids
        facts.update(vocab_min_count=vocab_min_count, vocab_size=cut.size)
    ids = {"pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
           "decoder_start_token_id": tok.eos_token_id}
    model = vocab.reshaped(model, old_ids=old_ids, token_ids=ids, decoder_layers=decoder_layers)
    facts["decoder_layers"] = model.config.decoder_layers
    return tok, model, facts


def encode_sets(train: list[data.QAExample], val: list[data.QAExample], tok, eos_id: int, opts: loop.TrainOptions,
                dropped: dict | None = None) -> tuple[list, list]:
    """The training and validation groups loop.train reads: one source per context for all its questions
    (opts.group_sources: the training groups compacted to arrays) or one per pair; `dropped` counts the pairs
    encode_groups leaves out."""
    sep_id = tok.convert_tokens_to_ids(warmstart.SEPARATOR)
    if opts.group_sources:
        return (loop.compact(loop.encode_groups(train, tok, sep_id, eos_id, opts.max_source_tokens, dropped)),
                loop.encode_groups(val, tok, sep_id, eos_id, opts.max_source_tokens))
    return (loop.as_groups(loop.encode(train, tok, sep_id, eos_id, opts.max_source_tokens)),
            loop.as_groups(loop.encode(val, tok, sep_id, eos_id, opts.max_source_tokens)))


def run(data_root: Path, work: Path, opts: loop.TrainOptions, *, mixture: str = "v1", full_data: bool = False,
        init: Path | None = None, vocab_min_count: int | None = None, decoder_layers: int | None = None) -> Path:
    """Train into `work` (resuming if it holds a checkpoint); returns the HF checkpoint directory.

    mixture v2 (data.build_v2) is SQuAD 1.1 + SQuADShifts + FairytaleQA + spaCy named-entity cloze, sampled
    to fit the CPU budget unless `full_data` (a GPU machine). The model starts from MiniLM (warmstart), or
    from the bundle `init` (mixture v3 continues the v1 default: data.build_v3)."""
    import torch

    if mixture not in MIXTURES:
        raise ValueError(f"mixture must be one of {MIXTURES}")
    if (mixture in CONTINUES) != (init is not None):
        raise ValueError(f"mixtures {', '.join(CONTINUES)} continue a model: they need the bundle to start from "
                         "(init), the others do not")
    if init is not None and not (init / "quals.json").is_file():
        raise ValueError(f"{init}: not a quals bundle (no quals.json)")
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    def build() -> dict[str, list[data.QAExample]]:
        if mixture == "v1":
            return data.build(data_root, seed=opts.seed)
        if mixture == "v3":
            return data.build_v3(data_root, seed=opts.seed)
        if mixture == "v4":
            return mixture_v4.build_v4(data_root, seed=opts.seed)
        limits = {k: None for k in data.CPU_LIMITS} if full_data else None
        return data.build_v2(data_root, seed=opts.seed, limits=limits)

    sets = training_sets(
        work, {"data": str(data_root.resolve()), "mixture": mixture, "full_data": full_data, "seed": opts.seed,
               "init": None if init is None else _bundle_id(init)}, build)
    src = warmstart.minilm_dir()
    tok = warmstart.build_tokenizer(src)
    model = warmstart.build_model(src) if init is None else warmstart.from_bundle(init, work, tok)
    shape: dict = {}
    if vocab_min_count is not None or decoder_layers is not None:
        tok, model, shape = reshape(tok, model, sets["train"], vocab_min_count=vocab_min_count,
                                    decoder_layers=decoder_layers)
    sep_id, eos_id = tok.convert_tokens_to_ids(warmstart.SEPARATOR), model.config.eos_token_id
    model.config.save_pretrained(work / "model")  # what quals.train.snapshot rebuilds the run's state into
    tok.save_pretrained(work / "model")
    dropped: dict = {}
    train_pairs, val_pairs = encode_sets(sets["train"], sets["val"], tok, eos_id, opts, dropped)
    probe = None
    if opts.probe_every:
        probe = curve.xquad_probe(data_root / "qa" / "xquad_en" / "squad_like.jsonl", tok, sep_id, eos_id,
                                  max_source=opts.max_source_tokens)
    stats = {
        "train_examples": sum(len(t) for _, t in train_pairs),
        "train_sources": len(train_pairs),
        "dropped": dropped,
        **shape,
        "val_examples": sum(len(t) for _, t in val_pairs),
        "train_by_origin": collections.Counter(f"{e.origin}/{e.kind}" for e in sets["train"]),
        "train_source_tokens": sum(len(s) for s, _ in train_pairs),
        "train_target_tokens": sum(len(t) for _, ts in train_pairs for t in ts),
        "parameters": sum(p.numel() for p in model.parameters()),
        "options": asdict(opts),
        "mixture": mixture,
        "full_data": full_data,
        "torch": torch.__version__,
        **(init_recipe(init) if init is not None else {}),
    }
    log.info("data: %s", json.dumps(stats))
    result = loop.train(model, train_pairs, val_pairs, work, opts, probe=probe)
    out = save_checkpoint(model, tok, work / "checkpoint")
    stats.update(result, wall_seconds=time.time() - t0)
    (work / "train_stats.json").write_text(json.dumps(stats, indent=2, default=dict) + "\n")
    return out
