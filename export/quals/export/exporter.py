"""Export a local HF seq2seq QAGen checkpoint (BART or T5 family) to a validated quals bundle.

Optimum exports the encoder and the decoder with past key-values (`text2text-generation-with-past`).
The bundle keeps the encoder, the merged decoder (or the split pair) and `tokenizer.json`, and a
manifest with everything a runtime needs. Before anything is written to OUT, the bundle is loaded by
the quals runtime and its teacher-forced log-probs are compared with PyTorch's on a few inputs; a
difference above `atol` fails the export.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from quals import __version__
from quals.bundle import (
    MANIFEST_NAME,
    Encoding,
    Manifest,
    OnnxLayout,
    Separator,
    SpecialTokens,
    load_bundle,
    model_file_digests,
)
from quals.errors import QualsError

log = logging.getLogger("quals.export")

FAMILIES = {"bart": "bart", "mbart": "bart", "t5": "t5", "mt5": "t5"}
SEPARATOR_CANDIDATES = ("ĠstrutConnector", "<sep>", "[SEP]")
ANS_LM_IGNORE = (".", ",", "!")
VALIDATION_TEXTS = (
    "The council approved a new budget of 4.2 million euros on Tuesday, after a long debate.",
    "Maria Lopez, 34, won the regional chess title in Porto for the third time.",
    "Storms closed two schools and the harbour in the north of the island.",
)
VALIDATION_QAS = (
    ("Who won the chess title?", "Maria Lopez"),
    ("How much was the budget?", "4.2 million euros"),
    ("What closed?", "two schools"),
)


class ExportError(QualsError):
    """The checkpoint cannot be exported, or the export does not match PyTorch."""


def _authors_search_defaults() -> dict:
    """The QUALS authors' decoding (beam 60 in 60 groups, strength 0.5, >= 8 tokens before EOS, <= 60 before
    the forced EOS), in each search's own units: transformers counts the decoder start token in
    min/max_length and forces no EOS, so the nearest hf setting is min 9, max 62."""
    common = {"num_beams": 60, "num_groups": 60, "diversity": 0.5, "length_penalty": 1.0}
    return {
        "search": "fairseq",
        "fairseq": {**common, "min_length": 8, "max_length": 60},
        "hf": {**common, "min_length": 9, "max_length": 62},
    }


def merge_decoders(decoder: Path, decoder_with_past: Path, out: Path) -> None:
    """Optimum's merge_decoders (strict=False), in a child process with a fixed string-hash seed.

    It names each weight the two decoders share after whichever copy a set yields first, so in a process with
    Python's random hash seed the same weights got other initializer names, another manifest digest and another
    bundle id on every run (seen: a rerun of the v3 recipe, identical weights.bin, another id). Fixed, the
    same fp32 bundle always gives the same merged graph."""
    code = ("import sys; from optimum.onnx import merge_decoders; "
            "merge_decoders(sys.argv[1], sys.argv[2], save_path=sys.argv[3], strict=False)")
    r = subprocess.run([sys.executable, "-c", code, str(decoder), str(decoder_with_past), str(out)],
                       env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    if r.returncode != 0:
        raise ExportError(f"merging the decoders failed: {r.stderr.strip()[-2000:]}")


def export_bundle(
    src: str | Path,
    out: str | Path,
    *,
    separator: str | None = None,
    max_source_tokens: int | None = None,
    decoder: str = "merged",
    atol: float = 1e-3,
    overwrite: bool = False,
) -> Manifest:
    """Export `src` (a local checkpoint directory) to the bundle directory `out`; returns its manifest."""
    import torch
    from optimum.exporters.onnx import main_export
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

    src, out = Path(src), Path(out)
    if not (src / "config.json").is_file():
        raise ExportError(f"{src}: not a local Hugging Face checkpoint (no config.json)")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: exists and is not empty (pass overwrite=True / --overwrite)")
    if decoder not in ("merged", "split"):
        raise ExportError("decoder must be 'merged' or 'split'")
    config = AutoConfig.from_pretrained(src)
    family = FAMILIES.get(config.model_type)
    if family is None:
        raise ExportError(f"model_type {config.model_type!r} is not supported (supported: {', '.join(FAMILIES)})")
    tok = AutoTokenizer.from_pretrained(src, use_fast=True)
    if not getattr(tok, "is_fast", False):
        raise ExportError(f"{src}: no fast tokenizer (tokenizer.json) could be built")
    backend = tok.backend_tokenizer

    eos = config.eos_token_id
    pad = config.pad_token_id
    start = config.decoder_start_token_id
    if eos is None or pad is None or start is None:
        raise ExportError("the config must define eos_token_id, pad_token_id and decoder_start_token_id")
    sep_token = separator or _pick_separator(tok, backend, reserved={eos, pad, start})
    if sep_token is None or backend.token_to_id(sep_token) is None:
        raise ExportError(
            f"separator {sep_token!r} is not in the vocabulary; pass the QA separator token with --separator"
        )
    sep_id = backend.token_to_id(sep_token)
    if sep_id in (eos, pad, start):
        raise ExportError(f"separator {sep_token!r} (id {sep_id}) is also EOS, pad or the decoder start token")
    if max_source_tokens is None:
        positions = getattr(config, "max_position_embeddings", None)
        # BART: the authors' limit, max_positions - 2 text tokens (+ EOS); T5 has no position table.
        max_source_tokens = positions - 2 if family == "bart" and positions else 511
    n_layers = getattr(config, "decoder_layers", None) or config.num_decoder_layers
    n_heads = getattr(config, "decoder_attention_heads", None) or config.num_heads
    d_model = config.d_model
    head_dim = getattr(config, "d_kv", None) if family == "t5" else d_model // n_heads
    ignore = sorted({i for i in (backend.token_to_id(p) for p in ANS_LM_IGNORE) if i is not None})

    with tempfile.TemporaryDirectory(prefix="quals-export-") as tmp:
        tmp = Path(tmp)
        onnx_dir, stage = tmp / "onnx", tmp / "bundle"
        log.info("exporting %s with optimum (text2text-generation-with-past)", src)
        main_export(str(src), str(onnx_dir), task="text2text-generation-with-past", do_validation=False)
        stage.mkdir()
        files = {"encoder": "encoder_model.onnx"}
        if decoder == "merged":
            files["decoder_merged"] = "decoder_model_merged.onnx"
        else:
            files["decoder"] = "decoder_model.onnx"
            files["decoder_with_past"] = "decoder_with_past_model.onnx"
        for name in files.values():
            if not (onnx_dir / name).is_file():
                raise ExportError(f"optimum did not produce {name}")
            shutil.copy2(onnx_dir / name, stage / name)
        if decoder == "merged":  # again, from the split pair optimum leaves beside it: the same names every run
            merge_decoders(onnx_dir / "decoder_model.onnx", onnx_dir / "decoder_with_past_model.onnx",
                           stage / files["decoder_merged"])
        backend.save(str(stage / "tokenizer.json"))
        files["tokenizer"] = "tokenizer.json"
        import onnx

        opset = max(
            o.version
            for o in onnx.load(str(stage / files["encoder"]), load_external_data=False).opset_import
            if o.domain in ("", "ai.onnx")
        )
        bos = config.bos_token_id if family == "bart" else None
        manifest = Manifest(
            family=family,
            model_type=config.model_type,
            files=files,
            sha256={},
            tokens=SpecialTokens(
                pad=pad,
                eos=eos,
                decoder_start=start,
                bos=bos,
                unk=backend.token_to_id(str(tok.unk_token)) if tok.unk_token else None,
            ),
            separator=Separator(id=sep_id, text=backend.decode([sep_id], skip_special_tokens=False)),
            encoding=Encoding(prepend_bos=False, append_eos=True, max_source_tokens=int(max_source_tokens)),
            onnx=OnnxLayout(
                opset=int(opset),
                num_layers=int(n_layers),
                num_heads=int(n_heads),
                head_dim=int(head_dim),
                hidden_size=int(d_model),
                vocab_size=int(config.vocab_size),
            ),
            search_defaults=_authors_search_defaults(),
            score_defaults={"variant": "paper", "max_pairs": 10},
            ans_lm_ignore_ids=tuple(ignore),
            max_target_tokens=64,
            provenance=_provenance(src, torch),
        )
        write_manifest(stage, manifest)
        model = AutoModelForSeq2SeqLM.from_pretrained(src).eval()
        diff = validate(stage, model, torch)
        log.info("validation: max |log p(ORT) - log p(PyTorch)| = %.3g (atol %.3g)", diff, atol)
        if not np.isfinite(diff) or diff > atol:
            raise ExportError(f"export does not match PyTorch: max abs log-prob difference {diff:.3g} > atol {atol:g}")
        manifest = dataclasses.replace(
            manifest, validation={"max_abs_logprob_diff": diff, "atol": atol, "n_inputs": len(VALIDATION_TEXTS)})
        write_manifest(stage, manifest)
        publish(stage, out)
    return manifest


def _pick_separator(tok, backend, reserved: set[int]) -> str | None:
    """The tokenizer's own sep_token when it is a token of its own (a QAGen checkpoint saved with
    sep_token=[unused0]), else the first known QA separator in the vocabulary. BART's and BERT's sep_token
    is their EOS ([SEP], </s>), which can never separate question from answer."""
    for c in (getattr(tok, "sep_token", None), *SEPARATOR_CANDIDATES):
        if c is not None and backend.token_to_id(c) is not None and backend.token_to_id(c) not in reserved:
            return c
    return None


def replace_files(stage: Path, out: Path) -> None:
    """Replace the files of `out` (created if missing) with those of `stage`."""
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        if f.is_file():
            f.unlink()
    for f in stage.iterdir():
        shutil.copy2(f, out / f.name)


def publish(stage: Path, out: Path) -> None:
    """Replace the files of `out` with the staged bundle, then check that it loads and verifies."""
    replace_files(stage, out)
    load_bundle(out)


def write_manifest(stage: Path, manifest: Manifest) -> None:
    """`manifest`, with the sha256 of every model file in `stage`, as stage's quals.json."""
    manifest = dataclasses.replace(manifest, sha256=model_file_digests(stage))
    (stage / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")


def _provenance(src: Path, torch) -> dict:
    import optimum
    import transformers

    try:
        from importlib.metadata import version

        optimum_version = version("optimum")
        optimum_onnx_version = version("optimum-onnx")
    except Exception:  # pragma: no cover - metadata missing only in odd installs
        optimum_version, optimum_onnx_version = getattr(optimum, "__version__", "?"), "?"
    return {
        "source_checkpoint": src.name,
        "quals": __version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "optimum": optimum_version,
        "optimum_onnx": optimum_onnx_version,
    }


def validation_logps(bundle_dir: Path) -> list[tuple[tuple[int, ...], list[int], np.ndarray]]:
    """The quals runtime's teacher-forced log-probs of the validation pairs on each validation text:
    (source ids, target ids, log-probs (len(target),)) triples, in a fixed order."""
    from quals.engine import Engine
    from quals.text import TextCodec

    bundle = load_bundle(bundle_dir)
    m = bundle.manifest
    engine = Engine(bundle, "cpu")
    codec = TextCodec(bundle.file("tokenizer"), m.tokens, m.encoding)
    out = []
    for text in VALIDATION_TEXTS:
        src = codec.encode(text).ids
        targets = [codec.qa_target(q, a, m.separator.id) for q, a in VALIDATION_QAS]
        out.extend(zip([src] * len(targets), targets, engine.teacher_forced(engine.encode(src), targets)))
    return out


def validate(bundle_dir: Path, model, torch) -> float:
    """Max abs difference of teacher-forced log-probs, quals runtime (ORT) vs PyTorch, on a few inputs."""
    start = load_bundle(bundle_dir, verify=False).manifest.tokens.decoder_start
    worst = 0.0
    for src, tgt, got in validation_logps(bundle_dir):
        dec_in = torch.tensor([[start] + tgt[:-1]])
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([list(src)]), decoder_input_ids=dec_in).logits
        ref = torch.log_softmax(logits.float(), dim=-1)[0, torch.arange(len(tgt)), torch.tensor(tgt)].numpy()
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst
