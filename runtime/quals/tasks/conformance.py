"""Conformance vectors: every intermediate value of the pipeline, for other hosts to reproduce.

A Java or C# host proves it computes the same QUALS from a bundle by replaying these: tokenizer ids,
encoder inputs, the hypotheses of both searches (ids, per-token and normalised scores), the pairs that
survive the span test and the selection, the teacher-forced log-probs on the source and the summary,
and the score of every variant. The values come from the very code paths `Scorer.score` runs
(`Scorer.trace` keeps what each step produced), so a vector cannot drift from the runtime. docs/hosts.md is the
contract these vectors check.
"""

from __future__ import annotations

from typing import Any

import onnxruntime as ort

from .. import __version__
from ..facts import find_facts
from ..options import default_options
from ..score import VARIANTS, mean_value
from ..scorer import Scorer
from ..search import SEARCHES
from ..verdict import FEATURES

FORMAT, FORMAT_VERSION = "quals-conformance", 1
TOLERANCE = {"logprob": 1e-4, "quals": 1e-4}

_SOURCE = (
    "The city council of Riverton voted 7 to 2 on Tuesday to build a new bridge over the Marlow river. "
    "The bridge will cost 48 million dollars and should open in 2029, said mayor Helen Okafor. "
    "Construction will be led by Brandt Engineering, a firm based in Hamburg. "
    "Opponents argued that the money should go to schools instead."
)

# (name, source, summary): ordinary records and the edge cases a host gets wrong first.
CASES: tuple[tuple[str, str, str], ...] = (
    ("consistent", _SOURCE, "Riverton will build a 48 million dollar bridge over the Marlow river, opening in 2029."),
    ("inconsistent", _SOURCE, "Mayor Helen Okafor voted against a bridge that Brandt Engineering of Berlin builds."),
    ("answer-at-end", _SOURCE, "The new bridge over the Marlow river should open in 2029"),
    (
        "unicode",
        "Zoë Müller from São Paulo won the €1,200 prize at the Café Größe in Tōkyō (東京) on 3 March. 🎉 "
        "The jury called her entry «remarkable».",
        "Zoë Müller won €1,200 in Tōkyō (東京) 🎉",
    ),
    ("long-source", " ".join([_SOURCE] * 12), "The council voted 7 to 2 for the bridge."),
    ("whitespace", "\n\t " + _SOURCE + "  \n", "  The bridge costs 48 million dollars.\t\n"),
    ("short-summary", _SOURCE, "Yes."),
    ("empty-summary", _SOURCE, "   \n"),
    ("empty-source", " ", "The bridge costs 48 million dollars."),
)

TOKENIZATION_TEXTS: tuple[str, ...] = (
    "",
    "Hello, world!",
    "The U.S. economy grew 2.5% in Q3 -- faster than the 1.9% forecast.",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nmixed",
    "naïve café, Zoë Müller, São Paulo, Ærøskøbing",
    "東京 and 北京 are capitals; 서울 too.",
    "emoji 🎉🚀 and symbols © ® ™ € £ ¥",
    "a" * 120,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "don't can't won't it's O'Neil's",
    "numbers 1,234,567.89 and 3/4 and -42",
    "<s> </s> <pad> <unk> [CLS] [SEP] [PAD] [UNK] [MASK] [unused0] <sep>",
    "what is the name? [unused0] bob [SEP]",
    "Ünïcödé ŝtrîñg with ﬁ ligature and ２ fullwidth",
    "control\x00chars\x07here",
)


def _floats(xs) -> list[float]:
    return [float(x) for x in xs]


def _hypothesis(h) -> dict[str, Any]:
    return {"tokens": list(h.tokens), "token_scores": _floats(h.token_scores), "score": float(h.score),
            "finished": bool(h.finished)}


def _encoded(e) -> dict[str, Any] | None:
    return None if e is None else {"ids": list(e.ids), "n_text_tokens": e.n_text_tokens, "truncated": e.truncated}


def _run(scorer: Scorer, source: str, summary: str) -> dict[str, Any]:
    """One record through the scorer's own steps (Scorer.trace), keeping what each produced."""
    w = scorer.trace(source, summary)
    r = w.result
    index = {id(h): i for i, h in enumerate(w.hypotheses)}
    pairs = []
    for p, sel in zip(r.pairs, w.selected):  # pair_score keeps the selection's order
        pairs.append(
            {
                "hypothesis": index[id(sel.hypothesis)],
                "question": sel.question,  # the decoding the metric uses (Result's pairs are cased for people)
                "answer": sel.answer,
                "tokens": list(p.tokens),
                "sep_index": sel.sep_index,
                "answer_index": list(p.answer_index),
                "logp_source": _floats(p.logp_source),
                "logp_summary": _floats(p.logp_summary),
                "search_scores": _floats(p.search_scores),
                "s_x": p.s_x,
                "s_y": p.s_y,
                "values": {v: p.value_for(v) for v in VARIANTS},
            }
        )
    o, s = scorer.options, scorer.options.search
    run = {
        "options": {
            "search": s.search,
            "num_beams": s.num_beams,
            "num_groups": s.num_groups,
            "diversity": s.diversity,
            "min_length": s.min_length,
            "max_length": s.max_length,
            "length_penalty": s.length_penalty,
            "max_pairs": o.max_pairs,
            "max_source_tokens": o.max_source_tokens or scorer.manifest.encoding.max_source_tokens,
        },
        "hypotheses": [_hypothesis(h) for h in w.hypotheses],
        "span_valid": [index[id(p.hypothesis)] for p in w.span_valid],
        "selected": [index[id(p.hypothesis)] for p in w.selected],
        "pairs": pairs,
        "result": {
            "status": r.status,
            "error": r.error,
            "n_pairs": r.n_pairs,
            "n_hypotheses": r.n_hypotheses,
            "n_span_valid": r.n_span_valid,
            "source_tokens": r.source_tokens,
            "source_truncated": r.source_truncated,
            "summary_tokens": r.summary_tokens,
            "summary_truncated": r.summary_truncated,
            "quals": {v: mean_value(r.pairs, v) for v in VARIANTS},
        },
    }
    if scorer.calibration is not None:
        run["verdicts"] = _verdicts(scorer, w)
    return run


def _verdicts(scorer: Scorer, w) -> dict[str, Any]:
    """The verdict mode's steps for one record (docs/hosts.md, "Verdicts"): the summary's facts, the coverage
    pairs (targets and teacher-forced log-probs), every pair's features, logit, probability and verdict, and the
    record's verdict, p_consistent and unsupported facts."""
    cal, r = scorer.calibration, w.result
    scored = [*r.pairs, *r.coverage]
    pairs = [{"features": {f: FEATURES[f](e) for f in cal.features}, "logit": cal.pair_logit(e),
              "p_supported": s.p_supported, "verdict": s.verdict}
             for e, s in zip(scorer.evidence(w) if scored else [], scored)]
    return {
        "facts": [{"start": f.start, "end": f.end, "kind": f.kind, "text": f.text}
                  for f in find_facts(w.summary, cal.common_words)] if w.summary else [],
        "coverage": [{"question": c.question, "answer": c.answer, "fact": [c.fact.start, c.fact.end],
                      "tokens": list(c.tokens), "sep_index": c.sep_index, "answer_index": list(s.answer_index),
                      "logp_source": _floats(s.logp_source), "logp_summary": _floats(s.logp_summary)}
                     for c, s in zip(w.coverage, r.coverage)],
        "pairs": pairs,
        "verdict": r.verdict,
        "p_consistent": r.p_consistent,
        "unsupported": None if r.unsupported is None else [f.to_dict() for f in r.unsupported],
    }


def vectors(
    scorer: Scorer,
    *,
    name: str,
    bundle_path: str,
    cases: tuple[tuple[str, str, str], ...] = CASES,
    searches: tuple[str, ...] = SEARCHES,
    progress=None,
) -> dict[str, Any]:
    """The conformance document of one bundle. `scorer` should run with one intra-op thread."""
    codec = scorer.codec
    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": {"quals": __version__, "onnxruntime": ort.__version__},
        "bundle": {"name": name, "path": bundle_path, "digest": scorer.bundle.digest},
        "tolerance": dict(TOLERANCE),
        "tokenization": [{"text": t, "ids": codec.text_ids(t)} for t in TOKENIZATION_TEXTS],
        # the verdict mode's calibration (the file beside the bundle) and its id; null: the bundle has none
        "calibration": None if scorer.calibration is None else {**scorer.calibration.to_dict(),
                                                                 "id": scorer.calibration.id},
        "cases": [],
    }
    decode_inputs = [codec.text_ids(t) for t in TOKENIZATION_TEXTS]
    t = scorer.manifest.tokens
    decode_inputs.append([t.eos, *codec.text_ids("special tokens are skipped"), scorer.manifest.separator.id, t.eos])
    doc["decoding"] = [{"ids": ids, "text": codec.decode(ids)} for ids in decode_inputs]
    scorers = {s: Scorer(scorer.bundle, scorer.engine, default_options(scorer.bundle, search=s)) for s in searches}
    for case_name, source, summary in cases:
        runs = []
        for s in searches:
            runs.append(_run(scorers[s], source, summary))
            if progress:
                progress(1)
        doc["cases"].append(
            {
                "name": case_name,
                "source": source,
                "summary": summary,
                "encoded": {"source": _encoded(_encode_or_none(scorer, source)),
                            "summary": _encoded(_encode_or_none(scorer, summary))},
                "runs": runs,
            }
        )
    doc["coverage"] = coverage(doc)
    return doc


def _encode_or_none(scorer: Scorer, text: str):
    text = text.strip()
    return scorer.codec.encode(text, scorer.options.max_source_tokens) if text else None


def coverage(doc: dict[str, Any]) -> dict[str, int]:
    """How many runs reached each situation a host must handle (an uncovered one is worth a new case)."""
    runs = [(c, r) for c in doc["cases"] for r in c["runs"]]

    def ends_with_answer(c, r) -> bool:
        return any(c["summary"].strip().lower().endswith(p["answer"].lower()) and p["answer"] for p in r["pairs"])

    return {
        "runs": len(runs),
        "ok": sum(r["result"]["status"] == "ok" for _, r in runs),
        "no_qa_pairs": sum(r["result"]["status"] == "no_qa_pairs" for _, r in runs),
        "error": sum(r["result"]["status"] == "error" for _, r in runs),
        "source_truncated": sum(bool(r["result"]["source_truncated"]) for _, r in runs),
        "answer_at_end": sum(ends_with_answer(c, r) for c, r in runs),
        "unfinished_hypotheses": sum(not h["finished"] for _, r in runs for h in r["hypotheses"]),
    }



def compare(expected: dict[str, Any], actual: dict[str, Any], tol: dict[str, float] | None = None) -> list[str]:
    """Differences between two conformance documents, as readable paths (empty: conformant).

    Integers, strings, booleans and list lengths must be equal; floats within the document's tolerance
    (`quals` for the scores, `logprob` for every other float).
    """
    tol = tol or expected.get("tolerance", TOLERANCE)
    diffs: list[str] = []

    def walk(e: Any, a: Any, path: str) -> None:
        if len(diffs) >= 50:
            return
        if isinstance(e, dict) and isinstance(a, dict):
            for k in e:
                if k in ("generator", "coverage"):
                    continue
                if k not in a:
                    diffs.append(f"{path}.{k}: missing")
                else:
                    walk(e[k], a[k], f"{path}.{k}")
        elif isinstance(e, list) and isinstance(a, list):
            if len(e) != len(a):
                diffs.append(f"{path}: length {len(a)} != {len(e)}")
            for i, (x, y) in enumerate(zip(e, a)):
                walk(x, y, f"{path}[{i}]")
        elif isinstance(e, float) or isinstance(a, float):
            if e is None or a is None or isinstance(e, bool) or isinstance(a, bool):
                if e != a:
                    diffs.append(f"{path}: {a!r} != {e!r}")
                return
            limit = tol["quals"] if ".quals." in path or path.endswith((".s_x", ".s_y")) else tol["logprob"]
            if not abs(float(e) - float(a)) <= limit:
                diffs.append(f"{path}: {a!r} != {e!r} (tolerance {limit:g})")
        elif e != a:
            diffs.append(f"{path}: {a!r} != {e!r}")

    walk(expected, actual, "$")
    return diffs
