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

import numpy as np

from .bundle import Bundle, load_bundle
from .coverage import CoverageTarget, coverage_targets
from .engine import EncoderOutput, Engine, SessionOptionsHook
from .errors import InputError
from .models import resolve_model
from .options import QualsOptions, default_options
from .qa import QAPair, answer_in_summary, answer_span, parse, select_pairs
from .readable import pair_text
from .result import STATUS_NO_PAIRS, STATUS_OK, Fact, Result, error_result
from .score import PairScore, mean_value, pair_score
from .search import Hypothesis, SearchOptions, run_search
from .signature import signature
from .text import Encoded, TextCodec
from .verdict import Calibration, PairEvidence, SourceText, load_calibration

log = logging.getLogger("quals")

SOURCE_CACHE = 8  # encoded sources kept between calls (an encoder output of 510 tokens is ~0.8 MB)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Trace:
    """Everything one record went through (Scorer.trace): for conformance vectors, explain pages, benchmarks.

    source, summary: the texts as scored (stripped); source_encoded, summary_encoded: their ids (None where the
    record stopped before encoding them); hypotheses: the search's, in its order; span_valid: the pairs whose
    answer is a span of the summary; selected: those kept, in selection order; logp_summary: per-token
    log-probs of each selected pair on the summary; result: what `score` returns for the record; coverage: the
    verdict mode's coverage pairs (quals.coverage), in order.
    """

    source: str
    summary: str
    source_encoded: Encoded | None
    summary_encoded: Encoded | None
    hypotheses: tuple[Hypothesis, ...]
    span_valid: tuple[QAPair, ...]
    selected: tuple[QAPair, ...]
    logp_summary: tuple[np.ndarray, ...]
    result: Result
    coverage: tuple[CoverageTarget, ...] = ()


@dataclass
class _InFlight:
    """A record between the steps of `score` (what a Trace freezes at the end)."""

    source: str
    summary: str
    source_encoded: Encoded | None = None
    summary_encoded: Encoded | None = None
    hypotheses: list[Hypothesis] = field(default_factory=list)
    span_valid: list[QAPair] = field(default_factory=list)
    selected: list[QAPair] = field(default_factory=list)
    logp_summary: list = field(default_factory=list)
    result: Result | None = None
    coverage: list[CoverageTarget] = field(default_factory=list)  # the verdict mode's coverage pairs
    coverage_logp_summary: list = field(default_factory=list)

    def frozen(self) -> Trace:
        return Trace(self.source, self.summary, self.source_encoded, self.summary_encoded, tuple(self.hypotheses),
                     tuple(self.span_valid), tuple(self.selected), tuple(self.logp_summary), self.result,
                     tuple(self.coverage))


@dataclass
class _Source:
    """A cached source: its ids and encoder output per window, and its lexical view once a verdict needed it."""

    windows: list[tuple[Encoded, EncoderOutput]]
    text: SourceText | None = None


def for_people(pair: PairScore, summary: str) -> PairScore:
    """The pair with its question and answer as the summary writes them (readable.pair_text); numbers unchanged."""
    question, answer = pair_text(pair.question, pair.answer, summary)
    return dataclasses.replace(pair, question=question, answer=answer)


def best_windows(per_window: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Each pair's log-probs on the source: with one window (the paper's truncation) that window's; with several
    (source_windows) its best window's, the one that supports it most (highest mean log p)."""
    if len(per_window) == 1:
        return per_window[0]
    return [max(candidates, key=lambda lp: float(lp.mean())) for candidates in zip(*per_window)]


class Scorer:
    def __init__(self, bundle: Bundle, engine: Engine, options: QualsOptions):
        self.bundle = bundle
        self.manifest = bundle.manifest
        self.engine = engine
        self.codec = TextCodec(bundle.file("tokenizer"), self.manifest.tokens, self.manifest.encoding)
        self.options = options
        # the verdict mode's calibration (None: off, or the bundle has none; the verdict fields stay null)
        self.calibration: Calibration | None = (
            load_calibration(bundle.path, bundle.digest) if options.verdicts else None)
        self._sources: dict[str, _Source] = {}  # _encoded_source's cache, oldest first
        self._ignore = frozenset(self.manifest.ans_lm_ignore_ids) | {
            t for t in (self.manifest.tokens.eos, self.manifest.tokens.bos) if t is not None
        }

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        provider: str = "cpu",
        *,
        allow_cpu_fallback: bool = False,
        threads: int | None = None,
        verify: bool = True,
        options: QualsOptions | None = None,
        session_options: SessionOptionsHook | None = None,
        **overrides: Any,
    ) -> Scorer:
        """Load a bundle: `path`, else $QUALS_MODEL, else the shipped default model (models.resolve_model).
        `overrides` replace QualsOptions fields or SearchOptions fields by name; `session_options` may change
        ONNX Runtime's session options (engine.make_session)."""
        bundle = load_bundle(resolve_model(path), verify=verify)
        engine = Engine(bundle, provider, allow_fallback=allow_cpu_fallback, threads=threads,
                        session_options=session_options)
        return cls(bundle, engine, default_options(bundle, options, **overrides))

    # -- generation ------------------------------------------------------------------------------
    def search(self, enc: EncoderOutput, opts: SearchOptions) -> list[Hypothesis]:
        """The search `opts` describes over one encoded text (a seam: a subclass may time or record it)."""
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
        return [dataclasses.replace(h, text=self._hypothesis_text(h, text)) for h in self.search(enc, opts)]

    def _hypothesis_text(self, h: Hypothesis, text: str) -> str:
        """A hypothesis for people: "question -> answer" (readable.pair_text) when it splits into a QA pair,
        else its tokens decoded without special tokens."""
        pair = self._parse(h)
        if pair is None:
            return self.codec.decode(list(h.tokens))
        question, answer = pair_text(pair.question, pair.answer, text)
        return f"{question} -> {answer}"

    def _parse(self, h: Hypothesis) -> QAPair | None:
        m = self.manifest
        return parse(h, sep_id=m.separator.id, eos_id=m.tokens.eos, decode=self.codec.decode)

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
        return [w.result for w in self._run(list(zip(sources, summaries)), progress)]

    def trace(self, source: str, summary: str) -> Trace:
        """One record through the same steps as `score`, with what each step produced."""
        return self._run([(source, summary)], None)[0].frozen()

    def _run(self, records: list[tuple[Any, Any]], progress: Callable[[int], None] | None) -> list[_InFlight]:
        works = [self._prepare(src, summ) for src, summ in records]
        for w in works:
            if w.result is None:
                self._guard(w, self._generate_pairs, w)
            if progress:
                progress(1)
        by_source: dict[str, list[_InFlight]] = {}
        for w in works:
            if w.result is None:
                by_source.setdefault(w.source, []).append(w)
        for group in by_source.values():
            self._guard_group(group, self._rescore_on_source, group)
        return works

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

    def _prepare(self, source: Any, summary: Any) -> _InFlight:
        w = _InFlight(source if isinstance(source, str) else "", summary if isinstance(summary, str) else "")
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

    def _guard(self, w: _InFlight, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # one record's failure must not lose the others
            log.debug("record failed", exc_info=True)
            w.result = error_result(f"{type(exc).__name__}: {exc}", self.options.variant)

    def _guard_group(self, group: list[_InFlight], fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:
            log.debug("source group failed", exc_info=True)
            for w in group:
                if w.result is None:
                    w.result = error_result(f"{type(exc).__name__}: {exc}", self.options.variant)

    def _generate_pairs(self, w: _InFlight) -> None:
        w.summary_encoded = self.codec.encode(w.summary, self.options.max_source_tokens)
        enc = self.engine.encode(w.summary_encoded.ids)
        w.hypotheses = self.search(enc, self.options.search)
        parsed = (self._parse(h) for h in w.hypotheses)
        view = self.codec.roundtrip(w.summary)
        w.span_valid = [p for p in parsed if p is not None and answer_in_summary(p.answer, w.summary, view)]
        w.selected = select_pairs(w.span_valid, self.options.max_pairs)
        if not w.selected:
            w.result = self._result(w, ())
            return
        w.logp_summary = self.engine.teacher_forced(
            enc, [p.tokens for p in w.selected], max_rows=self.options.rescore_rows
        )
        if self.calibration is not None or self.options.coverage_pairs:
            common = self.calibration.common_words if self.calibration is not None else None
            w.coverage = coverage_targets(w.summary, [p.answer for p in w.selected], self.codec,
                                          self.manifest.separator.id, common)
            if w.coverage:  # calls of their own: the selected pairs' calls stay as they were
                w.coverage_logp_summary = self.engine.teacher_forced(
                    enc, [c.tokens for c in w.coverage], max_rows=self.options.rescore_rows)

    def _rescore_on_source(self, group: list[_InFlight]) -> None:
        w0 = group[0]
        windows = self._encoded_source(w0.source).windows
        w0.source_encoded = windows[0][0]
        for w in group:
            # Each record's pairs in their own decoder passes, never mixed with another record's: a dynamic-int8
            # bundle quantizes activations per call, so co-batched rows would change this record's numbers.
            targets = [p.tokens for p in w.selected]
            per_window = [self.engine.teacher_forced(enc, targets, max_rows=self.options.rescore_rows)
                          for _, enc in windows]
            w.source_encoded = w0.source_encoded
            scored = [
                for_people(pair_score(p, lp_src, lp_summ, self.options.variant, self._ignore), w.summary)
                for p, lp_src, lp_summ in zip(w.selected, best_windows(per_window), w.logp_summary)
            ]
            coverage = []
            if w.coverage:
                per_window = [self.engine.teacher_forced(enc, [c.tokens for c in w.coverage],
                                                         max_rows=self.options.rescore_rows) for _, enc in windows]
                # no search wrote a coverage pair: its summary side is the teacher-forced one (the clean term)
                coverage = [pair_score(c.as_pair(lp_summ), lp_src, lp_summ, "clean", self._ignore)
                            for c, lp_src, lp_summ in zip(w.coverage, best_windows(per_window),
                                                          w.coverage_logp_summary)]
            w.result = self._judged(w, dataclasses.replace(self._result(w, tuple(scored)), coverage=tuple(coverage)))

    def _judged(self, w: _InFlight, result: Result) -> Result:
        """`result` with the verdict mode's fields (quals.verdict), when the scorer has a calibration: the
        selected pairs and the coverage pairs judged together."""
        if self.calibration is None or not result.pairs:
            return result
        scores = [*result.pairs, *result.coverage]
        judgement = self.calibration.judge(self._evidence(w.source, w.selected, w.coverage, scores))
        judged = [dataclasses.replace(s, p_supported=j.p_supported, verdict=j.verdict)
                  for s, j in zip(scores, judgement.pairs)]
        pairs, covered = tuple(judged[:len(result.pairs)]), tuple(judged[len(result.pairs):])
        spans = [answer_span(s.answer, w.summary) for s in pairs] + [(c.fact.start, c.fact.end) for c in w.coverage]
        unsupported = tuple(Fact(s.question, s.answer, span) for s, span in zip(judged, spans)
                            if s.verdict == "unsupported")
        return dataclasses.replace(result, pairs=pairs, coverage=covered, verdict=judgement.verdict,
                                   p_consistent=judgement.p_consistent, unsupported=unsupported)

    def evidence(self, trace: Trace) -> list[PairEvidence]:
        """What the verdict mode read of each pair of a traced record (its selected pairs, then its coverage
        pairs): the features' input, for conformance vectors and for looking inside a verdict."""
        r = trace.result
        return self._evidence(trace.source, trace.selected, trace.coverage, [*r.pairs, *r.coverage])

    def _evidence(self, source: str, selected: Sequence[QAPair], coverage: Sequence[CoverageTarget],
                  scores: Sequence[PairScore]) -> list[PairEvidence]:
        """PairEvidence of `scores` (the selected pairs' then the coverage pairs'): a selected pair's answer text
        is its answer tokens decoded, a coverage pair's the fact as the summary writes it; lower-cased."""
        text = self._source_text(source)
        seps = [p.sep_index for p in selected] + [c.sep_index for c in coverage]
        answers = [self.codec.decode(p.tokens[p.answer_slice]) for p in selected] + [c.answer for c in coverage]
        return [PairEvidence(np.asarray(s.logp_source), np.asarray(s.logp_summary), np.asarray(s.search_scores),
                             tuple(range(sep)), s.answer_index, answer.lower(), text)
                for s, sep, answer in zip(scores, seps, answers)]

    def _source_ids(self, source: str) -> list[Encoded]:
        """The source as the encoder reads it: its first `limit` tokens, or with source_windows every window."""
        if self.options.source_windows:
            return self.codec.windows(source, self.options.max_source_tokens)
        return [self.codec.encode(source, self.options.max_source_tokens)]

    def _encoded_source(self, source: str) -> _Source:
        """The source's ids and encoder output (one per window), from a cache of the last SOURCE_CACHE sources:
        summaries of one source share its encoding across calls too, so that scoring one record per call (each
        written as soon as it is scored) costs no more encoder passes than a batch of them. The same ids give
        the same encoder output bit for bit, so a hit changes no number."""
        hit = self._sources.pop(source, None)
        if hit is None:
            hit = _Source([(ids, self.engine.encode(ids.ids)) for ids in self._source_ids(source)])
        self._sources[source] = hit
        while len(self._sources) > SOURCE_CACHE:
            self._sources.pop(next(iter(self._sources)))
        return hit

    def _source_text(self, source: str) -> SourceText:
        """The source as the verdict features read it, made once per cached source (a summary of a source met
        before reuses it, as it reuses the encoding)."""
        entry = self._sources.get(source)
        if entry is None:
            return SourceText.of(source, self.codec.roundtrip(source))
        if entry.text is None:
            entry.text = SourceText.of(source, self.codec.roundtrip(source))
        return entry.text

    def _result(self, w: _InFlight, pairs: tuple[PairScore, ...]) -> Result:
        if w.source_encoded is None:
            w.source_encoded = self._source_ids(w.source)[0]
        src, summ = w.source_encoded, w.summary_encoded
        return Result(
            quals=mean_value(pairs),
            status=STATUS_OK if pairs else STATUS_NO_PAIRS,
            n_pairs=len(pairs),
            variant=self.options.variant,
            n_hypotheses=len(w.hypotheses),
            n_span_valid=len(w.span_valid),
            source_tokens=src.n_text_tokens,
            source_truncated=src.truncated,
            summary_tokens=summ.n_text_tokens if summ else 0,
            summary_truncated=bool(summ and summ.truncated),
            pairs=pairs,
        )

    @property
    def source_limit(self) -> int:
        """Text tokens kept from a source (and a summary): the option, else the bundle's limit."""
        return self.options.max_source_tokens or self.manifest.encoding.max_source_tokens

    # -- reproducibility -------------------------------------------------------------------------
    def signature(self, variant: str | None = None) -> str:
        """Every knob that changes the number, sacrebleu style (`key:value|...`, version last): see signature.py.
        `variant`: the signature of this scorer's results re-derived for another variant (Result.for_variant)."""
        options = self.options if variant is None else dataclasses.replace(self.options, variant=variant)
        return signature(self.bundle.digest, options, self.source_limit, self.engine.provider,
                         self.calibration.id if self.calibration is not None else None)
