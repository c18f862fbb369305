"""The model bundle: ONNX files, `tokenizer.json` and the manifest `quals.json`.

A bundle is everything a host needs to score, with no Python: the manifest names every file with its
sha256, the special token ids, the separator between question and answer, the encoding conventions, the
default search options and the ONNX I/O layout. The exporter writes it; every runtime (Python, Java, C#)
reads it and refuses it when a file is missing or does not match its hash.

Documentation (`*.md`, e.g. MODEL_CARD.md) travels with a bundle but is not part of it: it is not hashed,
so fixing a typo in a card neither breaks the bundle nor changes its id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import BundleError

MANIFEST_NAME = "quals.json"
FORMAT_NAME = "quals-bundle"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SpecialTokens:
    pad: int
    eos: int
    decoder_start: int
    bos: int | None = None
    unk: int | None = None


@dataclass(frozen=True)
class Separator:
    """The token between question and answer in a generated QA sequence."""

    id: int
    text: str


@dataclass(frozen=True)
class Encoding:
    """How text becomes encoder input ids (the QUALS authors: no BOS, first 1022 BPE tokens, then EOS)."""

    prepend_bos: bool
    append_eos: bool
    max_source_tokens: int  # text tokens kept before the special tokens are added
    lowercase: bool = False  # informational: the tokenizer's own normaliser does it when true


@dataclass(frozen=True)
class OnnxLayout:
    """What a host needs to drive the ONNX files (names follow Optimum's seq2seq export)."""

    opset: int
    num_layers: int
    num_heads: int
    head_dim: int
    hidden_size: int
    vocab_size: int
    past_input: str = "past_key_values.{layer}.{side}.{kv}"  # side: decoder|encoder, kv: key|value
    present_output: str = "present.{layer}.{side}.{kv}"
    use_cache_branch: str = "use_cache_branch"


@dataclass(frozen=True)
class Manifest:
    family: str  # "bart" or "t5" (the HF model_type is kept in model_type)
    model_type: str
    files: dict[str, str]  # role -> file name: encoder, decoder_merged | decoder + decoder_with_past, tokenizer
    sha256: dict[str, str]  # file name -> hex digest, for every model file (not the manifest, not documentation)
    tokens: SpecialTokens
    separator: Separator
    encoding: Encoding
    onnx: OnnxLayout
    search_defaults: dict[str, Any] = field(default_factory=dict)
    score_defaults: dict[str, Any] = field(default_factory=dict)
    ans_lm_ignore_ids: tuple[int, ...] = ()  # tokens the answer-only variant skips ('.', ',', '!')
    max_target_tokens: int = 64
    provenance: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        if d.get("format") != FORMAT_NAME:
            raise BundleError(f"{MANIFEST_NAME}: not a quals bundle manifest (format={d.get('format')!r})")
        if d.get("format_version") != FORMAT_VERSION:
            raise BundleError(
                f"{MANIFEST_NAME}: format_version {d.get('format_version')!r} is not supported by this "
                f"quals (it reads version {FORMAT_VERSION}); re-export the model or upgrade quals"
            )
        try:
            return cls(
                family=d["family"],
                model_type=d["model_type"],
                files=dict(d["files"]),
                sha256=dict(d["sha256"]),
                tokens=SpecialTokens(**d["tokens"]),
                separator=Separator(**d["separator"]),
                encoding=Encoding(**d["encoding"]),
                onnx=OnnxLayout(**d["onnx"]),
                search_defaults=dict(d.get("search_defaults", {})),
                score_defaults=dict(d.get("score_defaults", {})),
                ans_lm_ignore_ids=tuple(d.get("ans_lm_ignore_ids", ())),
                max_target_tokens=int(d.get("max_target_tokens", 64)),
                provenance=dict(d.get("provenance", {})),
                validation=dict(d.get("validation", {})),
            )
        except (KeyError, TypeError) as exc:
            raise BundleError(f"{MANIFEST_NAME}: malformed manifest ({exc})") from exc

    @property
    def decoder_layout(self) -> str:
        return "merged" if "decoder_merged" in self.files else "split"


DOC_SUFFIXES = (".md",)


def is_documentation(name: str) -> bool:
    return name.lower().endswith(DOC_SUFFIXES)


def model_file_digests(bundle_dir: str | Path) -> dict[str, str]:
    """The manifest's `sha256` for a bundle directory: every file but the manifest and documentation."""
    root = Path(bundle_dir)
    return {
        f.name: sha256_file(f)
        for f in sorted(root.iterdir())
        if f.is_file() and f.name != MANIFEST_NAME and not is_documentation(f.name)
    }


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: Manifest

    def file(self, role: str) -> Path:
        return self.path / self.manifest.files[role]

    @property
    def digest(self) -> str:
        """The bundle's id: the sha256 of its manifest, which holds every model file's hash and every setting
        the numbers depend on. Documentation is outside the manifest, so editing it keeps the id."""
        return hashlib.sha256((self.path / MANIFEST_NAME).read_bytes()).hexdigest()


def load_bundle(path: str | Path, *, verify: bool = True) -> Bundle:
    """Read and check a bundle directory.

    Every file the manifest lists must exist and, when `verify`, match its sha256: a partly copied or
    edited bundle is refused with a message naming the file, never scored with.
    """
    root = Path(path)
    if not root.exists():
        raise BundleError(f"model bundle not found: {root}")
    if not root.is_dir():
        raise BundleError(f"model bundle must be a directory: {root}")
    mpath = root / MANIFEST_NAME
    if not mpath.is_file():
        raise BundleError(f"{mpath}: missing manifest; is {root} a bundle made by `quals export`?")
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath}: corrupt manifest ({exc})") from exc
    manifest = Manifest.from_dict(data)
    roles = set(manifest.files)
    if not (
        {"encoder", "tokenizer"} <= roles and ("decoder_merged" in roles or {"decoder", "decoder_with_past"} <= roles)
    ):
        raise BundleError(f"{mpath}: the manifest lists no complete set of model files (has {sorted(roles)})")
    for role, name in manifest.files.items():
        if name not in manifest.sha256:
            raise BundleError(f"{mpath}: no sha256 recorded for {name} ({role})")
    for name, digest in manifest.sha256.items():
        fpath = root / name
        if not fpath.is_file():
            raise BundleError(f"{fpath}: file missing from the bundle")
        if verify and sha256_file(fpath) != digest:
            raise BundleError(f"{fpath}: sha256 mismatch, the file is corrupt or was modified")
    return Bundle(root, manifest)
