"""The reproducibility signature: every knob that changes a score, sacrebleu style (`key:value|...`).

Built from the options' fields, not by hand: FIELDS names the part each field writes, and NOT_SIGNED lists
the fields that change no number, with the reason (tests/test_signature.py checks that every field of
QualsOptions and SearchOptions is in one of the two, and that changing a signed field changes the signature).
"""

from __future__ import annotations

from collections.abc import Callable

import onnxruntime as ort

from . import __version__
from .engine import PROVIDERS
from .options import QualsOptions
from .search import SearchOptions

Part = Callable[[QualsOptions, int], "str | None"]  # (options, source limit) -> "key:value", or None: left out


def _search(f: Callable[[SearchOptions], str | None]) -> Part:
    return lambda o, _limit: f(o.search)


# field name -> the part it writes, in signature order. SearchOptions' fields first, then QualsOptions'.
FIELDS: dict[str, Part] = {
    "search": _search(lambda s: f"search:{s.search}"),
    "num_beams": _search(lambda s: f"beams:{s.num_beams}"),
    "num_groups": _search(lambda s: f"groups:{s.num_groups}"),
    "diversity": _search(lambda s: f"div:{s.diversity:g}"),
    "min_length": _search(lambda s: f"len:{s.min_length}-{s.max_length}"),
    "max_length": _search(lambda s: None),  # written with min_length
    "length_penalty": _search(lambda s: f"lp:{s.length_penalty:g}"),
    # hf only (fairseq returns every beam and has no early-stopping switch): left out under fairseq, where they
    # change nothing, so that the default signature stays what it always was
    "num_return": _search(lambda s: f"ret:{s.returned}" if s.search == "hf" else None),
    "early_stopping": _search(lambda s: f"es:{str(s.early_stopping).lower()}" if s.search == "hf" else None),
    "variant": lambda o, _limit: f"variant:{o.variant}",
    "max_pairs": lambda o, _limit: f"pairs:{o.max_pairs}",
    "max_source_tokens": lambda _o, limit: f"src:{limit}",
    # left out when off (the paper's truncation), so that every signature before it stays what it was
    "source_windows": lambda o, _limit: "win:half" if o.source_windows else None,
}
NOT_SIGNED = {
    "coverage_pairs": "adds the coverage pairs to a record's details; changes no QUALS number and no pair's",
    "verdicts": "changes no QUALS number; the verdict fields are signed by the calibration's own part, cal:ID, "
                "written when they are computed",
    "search": "a container: its fields are signed one by one",
    "rescore_rows": "how many teacher-forced rows share a decoder call: a record's rows are never batched with "
                    "another record's, and the chunking gives the same log-probs (tests/test_signature.py)",
}


def provider_name(provider: str) -> str:
    """`cpu`/`cuda` for the providers quals names, else ONNX Runtime's own name of the provider."""
    short = {v: k for k, v in PROVIDERS.items()}
    return short.get(provider, provider)


def signature(bundle_digest: str, options: QualsOptions, source_limit: int, provider: str,
              calibration: str | None = None) -> str:
    """`quals|bundle:…|<FIELDS in order>[|cal:…]|ep:…|ort:…|version:…` for a scorer of these options;
    `calibration`: the id of the calibration its verdicts come from (None: no verdicts, no part)."""
    parts = ["quals", f"bundle:{bundle_digest[:12]}"]
    parts += [p for p in (part(options, source_limit) for part in FIELDS.values()) if p is not None]
    if calibration is not None:
        parts.append(f"cal:{calibration[:12]}")
    parts += [f"ep:{provider_name(provider)}", f"ort:{ort.__version__}", f"version:{__version__}"]
    return "|".join(parts)
