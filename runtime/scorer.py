"""`Scorer`: load a bundle once, then score (source, summary) pairs.

Per summary: encode it, run the diverse beam search, parse and select QA pairs (qa), teacher-force them
on the summary. Per distinct source: encode it once, then teacher-force each summary's QA pairs on it.
Then the score. A record that cannot be scored gets a Result with
status "error" and a message; the other records go on.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort

from . import __version__
from .bundle import Bundle, load_bundle
from .engine import EncoderOutput, Engine
from .errors import InputError, OptionsError
from .qa import QAPair, answer_in_summary, parse, select
from .score import VARIANTS, PairScore, pair_score, quals
from .search import Hypothesis, SearchOptions, run_search
from .text import Encoded, TextCodec

log = logging.getLogger("quals")

STATUS_OK, STATUS_NO_PAIRS, STATUS_ERROR = "ok", "no_qa_pairs", "error"
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class QualsOptions:
    """Everything that changes the number, besides the bundle. Defaults come from the bundle's manifest."""

    search: SearchOptions = field(default_factory=SearchOptions)
    variant: str = "paper"
    max_pairs: int = 10  # the authors' cap, checked between round-robin rounds (10-20 pairs survive)
    max_source_tokens: int | None = None  # None: the manifest's limit
    rescore_rows: int = 64  # teacher-forced sequences per decoder call

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise OptionsError(f"unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.max_pairs < 1:
            raise OptionsError("max_pairs must be >= 1")
        if self.max_source_tokens is not None and self.max_source_tokens < 1:
            raise OptionsError("max_source_tokens must be >= 1")


@dataclass(frozen=True)
class Result:
    """The score of one (source, summary) record."""

    quals: float | None
    status: str
    n_pairs: int = 0
    error: str | None = None
    variant: str = "paper"
    n_hypotheses: int = 0
    n_span_valid: int = 0
    source_tokens: int = 0
    source_truncated: bool = False
    summary_tokens: int = 0
    summary_truncated: bool = False
    pairs: tuple[PairScore, ...] = ()

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "quals": self.quals,
            "n_pairs": self.n_pairs,
            "status": self.status,
            "variant": self.variant,
            "n_hypotheses": self.n_hypotheses,
            "n_span_valid": self.n_span_valid,
            "source_tokens": self.source_tokens,
            "source_truncated": self.source_truncated,
            "summary_tokens": self.summary_tokens,
            "summary_truncated": self.summary_truncated,
        }
        if self.error is not None:
            d["error"] = self.error
        if details:
            d["pairs"] = [p.to_dict() for p in self.pairs]
        return d


def error_result(message: str, variant: str = "paper") -> Result:
    return Result(None, STATUS_ERROR, error=message, variant=variant)


@dataclass
class _Work:
    """A record in flight."""

    source: str
    summary: str
    src: Encoded | None = None
    summ: Encoded | None = None
    hyps: list[Hypothesis] = field(default_factory=list)
    span_valid: list[QAPair] = field(default_factory=list)
    selected: list[QAPair] = field(default_factory=list)
    logp_summary: list = field(default_factory=list)
    result: Result | None = None


class Scorer:
    def __init__(self, bundle: Bundle, engine: Engine, options: QualsOptions):
        self.bundle = bundle
        self.manifest = bundle.manifest
        self.engine = engine
        self.codec = TextCodec(bundle.file("tokenizer"), self.manifest.tokens, self.manifest.encoding)
        self.options = options
        self._ignore = frozenset(self.manifest.ans_lm_ignore_ids) | {
            t for t in (self.manifest.tokens.eos, self.manifest.tokens.bos) if t is not None
        }

    @classmethod
    def load(
        cls,
        path: str | Path,
        provider: str = "cpu",
        *,
        allow_cpu_fallback: bool = False,
        threads: int | None = None,
        verify: bool = True,
        options: QualsOptions | None = None,
        **overrides: Any,
    ) -> Scorer:
        """Load a bundle. `overrides` replace QualsOptions fields or SearchOptions fields by name."""
        bundle = load_bundle(path, verify=verify)
        engine = Engine(bundle, provider, allow_fallback=allow_cpu_fallback, threads=threads)
        return cls(bundle, engine, default_options(bundle, options, **overrides))

    # -- generation ------------------------------------------------------------------------------
    def _search(self, enc: EncoderOutput, opts: SearchOptions) -> list[Hypothesis]:
        t = self.manifest.tokens
        state = self.engine.start(enc, opts.num_beams)
        return run_search(state, opts, decoder_start=t.decoder_start, eos=t.eos, pad=t.pad)

    def generate(self, text: str, options: SearchOptions | None = None, **overrides: Any) -> list[Hypothesis]:
        """Hypotheses of the search on `text` (stripped, encoded as the manifest says)."""
        opts = dataclasses.replace(options or self.options.search, **overrides)
        text = text.strip()
        if not text:
            raise InputError("text is empty")
        enc = self.engine.encode(self.codec.encode(text, self.options.max_source_tokens).ids)
        decode = self.codec.tokenizer.decode
        return [dataclasses.replace(h, text=decode(list(h.tokens), skip_special_tokens=False))
                for h in self._search(enc, opts)]

    # -- scoring ---------------------------------------------------------------------------------
    def score(
        self,
        sources: Iterable[str],
        summaries: Iterable[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[Result]:
        """One Result per (source, summary), in order. `progress(n)` is called as summaries finish.

        Any iterables of strings (lists, tuples, generators, pandas Series); for one pair, `score_one`.
        """
        for name, arg in (("sources", sources), ("summaries", summaries)):
            if isinstance(arg, (str, bytes)):
                raise InputError(f"{name} must be an iterable of strings, not one {type(arg).__name__} "
                                 "(it would be scored character by character); use score_one(source, summary) "
                                 "or score([source], [summary])")
        sources, summaries = list(sources), list(summaries)
        if len(sources) != len(summaries):
            raise InputError(f"{len(sources)} sources but {len(summaries)} summaries")
        works = [self._prepare(src, summ) for src, summ in zip(sources, summaries)]
        for w in works:
            if w.result is None:
                self._guard(w, self._generate_pairs, w)
            if progress:
                progress(1)
        by_source: dict[str, list[_Work]] = {}
        for w in works:
            if w.result is None:
                by_source.setdefault(w.source, []).append(w)
        for group in by_source.values():
            self._guard_group(group, self._rescore_on_source, group)
        return [w.result for w in works]

    def score_batches(
        self,
        batches: Iterable[tuple[Sequence[str], Sequence[str]]],
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[list[Result]]:
        """The Results of each (sources, summaries) batch, in order (the shape of `ScorerPool.score_batches`)."""
        for sources, summaries in batches:
            yield self.score(sources, summaries, progress=progress)

    def score_one(self, source: str, summary: str) -> Result:
        return self.score([source], [summary])[0]

    def _prepare(self, source: Any, summary: Any) -> _Work:
        w = _Work(source if isinstance(source, str) else "", summary if isinstance(summary, str) else "")
        v = self.options.variant
        if not isinstance(source, str) or not isinstance(summary, str):
            w.result = error_result("source and summary must be strings", v)
        elif not summary.strip():
            w.result = error_result("summary is empty", v)
        elif not source.strip():
            w.result = error_result("source is empty", v)
        elif (bad := next((n for n, t in (("summary", summary), ("source", source)) if _SURROGATE.search(t)), None)):
            w.result = error_result(f"{bad} holds a lone surrogate (U+D800-U+DFFF, e.g. from a JSON escape like "
                                    "\\udcff): not text any tokenizer can encode", v)
        else:
            w.source, w.summary = source.strip(), summary.strip()
        return w

    def _guard(self, w: _Work, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # one record's failure must not lose the others
            log.debug("record failed", exc_info=True)
            w.result = error_result(f"{type(exc).__name__}: {exc}", self.options.variant)

    def _guard_group(self, group: list[_Work], fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:
            log.debug("source group failed", exc_info=True)
            for w in group:
                if w.result is None:
                    w.result = error_result(f"{type(exc).__name__}: {exc}", self.options.variant)

    def _generate_pairs(self, w: _Work) -> None:
        m = self.manifest
        w.summ = self.codec.encode(w.summary, self.options.max_source_tokens)
        enc = self.engine.encode(w.summ.ids)
        w.hyps = self._search(enc, self.options.search)
        parsed = (parse(h, sep_id=m.separator.id, eos_id=m.tokens.eos, decode=self.codec.decode) for h in w.hyps)
        view = self.codec.roundtrip(w.summary)
        w.span_valid = [p for p in parsed if p is not None and answer_in_summary(p.answer, w.summary, view)]
        w.selected = select(w.span_valid, self.options.max_pairs)
        if not w.selected:
            w.result = self._result(w, ())
            return
        w.logp_summary = self.engine.teacher_forced(
            enc, [p.tokens for p in w.selected], max_rows=self.options.rescore_rows
        )

    def _rescore_on_source(self, group: list[_Work]) -> None:
        w0 = group[0]
        w0.src = self.codec.encode(w0.source, self.options.max_source_tokens)
        enc = self.engine.encode(w0.src.ids)
        for w in group:
            # Each record's pairs in their own decoder passes, never mixed with another record's: a dynamic-int8
            # bundle quantizes activations per call, so co-batched rows would change this record's numbers.
            logps = self.engine.teacher_forced(enc, [p.tokens for p in w.selected], max_rows=self.options.rescore_rows)
            w.src = w0.src
            scored = [
                pair_score(p, lp_src, lp_summ, self.options.variant, self._ignore)
                for p, lp_src, lp_summ in zip(w.selected, logps, w.logp_summary)
            ]
            w.result = self._result(w, tuple(scored))

    def _result(self, w: _Work, pairs: tuple[PairScore, ...]) -> Result:
        if w.src is None:
            w.src = self.codec.encode(w.source, self.options.max_source_tokens)
        return Result(
            quals=quals(pairs),
            status=STATUS_OK if pairs else STATUS_NO_PAIRS,
            n_pairs=len(pairs),
            variant=self.options.variant,
            n_hypotheses=len(w.hyps),
            n_span_valid=len(w.span_valid),
            source_tokens=w.src.n_text_tokens,
            source_truncated=w.src.truncated,
            summary_tokens=w.summ.n_text_tokens if w.summ else 0,
            summary_truncated=bool(w.summ and w.summ.truncated),
            pairs=pairs,
        )

    @property
    def source_limit(self) -> int:
        """Text tokens kept from a source (and a summary): the option, else the bundle's limit."""
        return self.options.max_source_tokens or self.manifest.encoding.max_source_tokens

    # -- reproducibility -------------------------------------------------------------------------
    def signature(self) -> str:
        """Every knob that changes the number, sacrebleu style (`key:value|...`, version last)."""
        s, o = self.options.search, self.options
        src_limit = self.source_limit
        parts = [
            "quals",
            f"bundle:{self.bundle.digest[:12]}",
            f"search:{s.search}",
            f"beams:{s.num_beams}",
            f"groups:{s.num_groups}",
            f"div:{s.diversity:g}",
            f"len:{s.min_length}-{s.max_length}",
            f"lp:{s.length_penalty:g}",
            f"variant:{o.variant}",
            f"pairs:{o.max_pairs}",
            f"src:{src_limit}",
            f"ep:{'cuda' if self.engine.provider.startswith('CUDA') else 'cpu'}",
            f"ort:{ort.__version__}",
            f"version:{__version__}",
        ]
        return "|".join(parts)


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
