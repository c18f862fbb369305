"""Scoring options: what changes a QUALS number besides the bundle, and how the bundle's defaults fill them.

The manifest carries the authors' defaults (search settings per search, variant, pair cap); `default_options`
layers a caller's base options and keyword overrides over them, so that the CLI, the API and the worker
processes resolve options in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .bundle import Bundle
from .errors import OptionsError
from .score import VARIANTS
from .search import SearchOptions


@dataclass(frozen=True)
class QualsOptions:
    """Everything that changes the number, besides the bundle. Defaults come from the bundle's manifest."""

    search: SearchOptions = field(default_factory=SearchOptions)
    variant: str = "paper"
    max_pairs: int = 10  # the authors' cap, checked between round-robin rounds (10-20 pairs survive)
    max_source_tokens: int | None = None  # None: the manifest's limit
    rescore_rows: int = 64  # teacher-forced sequences per decoder call
    # Beyond the paper: score each pair against overlapping windows of the source (the limit each, half
    # overlapping) and keep its best window, instead of the source's first `limit` tokens (text.windows).
    source_windows: bool = False
    # Beyond the paper: per-pair and summary verdicts from the calibration beside the bundle (quals.verdict);
    # off, or without a calibration, the verdict fields are null. Changes no QUALS number.
    verdicts: bool = True
    # the verdict mode's coverage pairs (quals.coverage) even without verdicts: what a calibration is fitted on
    # (quals.train.calibrate). With verdicts they are always there. Changes no QUALS number.
    coverage_pairs: bool = False

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise OptionsError(f"unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.max_pairs < 1:
            raise OptionsError("max_pairs must be >= 1")
        if self.max_source_tokens is not None and self.max_source_tokens < 1:
            raise OptionsError("max_source_tokens must be >= 1")


def search_defaults(manifest_defaults: dict[str, Any], search: str | None = None) -> SearchOptions:
    """The manifest's default options for `search` (default: the manifest's default search).

    The manifest keeps one block per search, `{"search": "fairseq", "fairseq": {...}, "hf": {...}}`, since
    lengths are counted differently by each; a flat dict of SearchOptions fields is read as is.
    """
    name = search or manifest_defaults.get("search", "hf")
    block = manifest_defaults.get(name)
    if not isinstance(block, dict):
        block = {k: v for k, v in manifest_defaults.items() if not isinstance(v, dict)}
    fields = {k: v for k, v in block.items() if k in _SEARCH_FIELDS}
    return SearchOptions(**{**fields, "search": name})


def default_options(bundle: Bundle, base: QualsOptions | None = None, **overrides: Any) -> QualsOptions:
    """The manifest's defaults, then `base`, then keyword overrides (QualsOptions or SearchOptions fields).

    Switching the search by override starts from the manifest's defaults for that search.
    """
    unknown = set(overrides) - _SEARCH_FIELDS - _OPTION_FIELDS
    if unknown:
        raise OptionsError(f"unknown option(s): {', '.join(sorted(unknown))}")
    search_over = {k: v for k, v in overrides.items() if k in _SEARCH_FIELDS and v is not None}
    option_over = {k: v for k, v in overrides.items() if k in _OPTION_FIELDS and v is not None}
    defaults = bundle.manifest.search_defaults
    if base is None:
        score_defaults = {k: v for k, v in bundle.manifest.score_defaults.items() if k in _OPTION_FIELDS}
        base = QualsOptions(search=search_defaults(defaults), **score_defaults)
    search = base.search
    if search_over.get("search", search.search) != search.search:
        search = search_defaults(defaults, search_over["search"])
    search = dataclasses.replace(search, **search_over) if search_over else search
    options = dataclasses.replace(base, search=search, **option_over)
    limit = bundle.manifest.encoding.max_source_tokens
    if options.max_source_tokens is not None and options.max_source_tokens > limit:
        # Past the limit the encoder runs out of positions (ONNX Runtime fails with an index error).
        raise OptionsError(f"max_source_tokens {options.max_source_tokens} is above this bundle's limit of {limit} "
                           "text tokens (set at export: a BART encoder has no positions past it)")
    return options


_SEARCH_FIELDS = {f.name for f in dataclasses.fields(SearchOptions)}
_OPTION_FIELDS = {f.name for f in dataclasses.fields(QualsOptions)} - {"search"}
