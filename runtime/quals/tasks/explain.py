"""Why a summary scored what it did: the per-token picture of the QUALS blog, as data, a page and an image.

For each selected QA pair, the per-token log-probabilities given the summary and given the source: a pair
whose tokens are likely for the summary but not for the source pulls the score down. `explain()` returns
that as a structure (for notebooks); `render_html()` makes a self-contained page of it (inline CSS and SVG,
nothing fetched), `render_png()` the per-pair chart (matplotlib, the `explain` extra).

Every number comes from the Result of the scorer (`--details`): nothing is recomputed, so the page shows
exactly what the score was made of.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from ..bundle import Manifest
from ..qa import answer_span
from ..result import STATUS_ERROR, STATUS_OK, Result, error_result
from ..scorer import Scorer

ROLES = ("question", "separator", "answer", "eos")


@dataclass(frozen=True)
class TokenView:
    id: int
    text: str  # the token as a chart labels it (token_label: no "##", the separator and EOS as symbols)
    role: str  # question, separator, answer or eos
    logp_summary: float  # log p(token | summary), teacher-forced (no diversity penalty)
    logp_source: float  # log p(token | source), teacher-forced
    search_score: float  # the search's per-token score (the paper variant's summary side, penalty included)


@dataclass(frozen=True)
class PairView:
    rank: int  # 0 = the pair that lowered the score most
    question: str
    answer: str
    value: float  # this pair's term: the score is the mean of the values
    s_x: float
    s_y: float
    answer_span: tuple[int, int] | None  # character span of the answer in the summary (case-insensitive)
    tokens: tuple[TokenView, ...]
    verdict: str | None = None  # supported / uncertain / unsupported (the verdict mode; None without it)
    p_supported: float | None = None


@dataclass(frozen=True)
class Explanation:
    source: str
    summary: str
    quals: float | None
    status: str
    error: str | None
    variant: str
    n_pairs: int
    source_truncated: bool
    summary_truncated: bool
    signature: str
    pairs: tuple[PairView, ...]  # sorted by value, lowest (most lowering) first
    verdict: str | None = None  # consistent / uncertain / inconsistent (the verdict mode; None without it)
    p_consistent: float | None = None
    coverage: tuple[PairView, ...] = ()  # the verdict mode's coverage pairs, numbered after the pairs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SPECIAL_LABELS = {"separator": "\u2192", "eos": "\u23ce"}  # → between question and answer, ⏎ at the end


def token_label(piece: str, role: str) -> str:
    """A token as a chart labels it: the separator and EOS as symbols, a word piece without its "##" mark."""
    return SPECIAL_LABELS.get(role) or (piece[2:] if piece.startswith("##") and len(piece) > 2 else piece)


def from_result(result: Result, source: str, summary: str, scorer: Scorer) -> Explanation:
    """The explanation of one record that `scorer` scored (its pairs, with their per-token numbers)."""
    return explanation(result, source, summary, scorer.manifest, scorer.codec.tokenizer,
                       scorer.signature(result.variant))


def explanation(result: Result, source: str, summary: str, manifest: Manifest, tokenizer: Tokenizer,
                signature: str) -> Explanation:
    """The explanation of one scored record from what it needs of the bundle (the separator, EOS and the
    tokenizer that labels the tokens): a process without ONNX sessions (the service) builds it too."""
    sep, eos = manifest.separator.id, manifest.tokens.eos

    def view(rank: int, p) -> PairView:
        role, views = "question", []
        for t, ls, lx, ss in zip(p.tokens, p.logp_summary, p.logp_source, p.search_scores):
            if t == sep:
                role_t, role = "separator", "answer"
            elif t == eos:
                role_t = "eos"
            else:
                role_t = role
            views.append(TokenView(int(t), token_label(tokenizer.decode([t], skip_special_tokens=False), role_t),
                                   role_t, float(ls), float(lx), float(ss)))
        return PairView(rank, p.question, p.answer, float(p.value), float(p.s_x), float(p.s_y),
                        answer_span(p.answer, summary), tuple(views), p.verdict, p.p_supported)

    pairs = [view(i, p) for i, p in enumerate(sorted(result.pairs, key=lambda p: p.value))]
    coverage = [view(len(pairs) + i, p) for i, p in enumerate(result.coverage)]
    return Explanation(source, summary, result.quals, result.status, result.error, result.variant, result.n_pairs,
                       result.source_truncated, result.summary_truncated, signature, tuple(pairs), result.verdict,
                       result.p_consistent, tuple(coverage))


def explain(scorer: Scorer, source: str, summary: str) -> Explanation:
    """Score one pair and explain it."""
    return from_result(scorer.score_one(source, summary), source, summary, scorer)


# -- the page ----------------------------------------------------------------------------------------------

CSS = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 6px} .muted{color:#666;font-size:13px}
.score{font-size:28px;font-weight:600} .bad{color:#b3261e}
.verdict-inconsistent{color:#b3261e} .verdict-consistent{color:#1e7b34} .verdict-uncertain{color:#a86b00}
.box{border:1px solid #ddd;border-radius:6px;padding:10px 12px;background:#fafafa;white-space:pre-wrap}
.source{max-height:220px;overflow:auto}
mark{border-radius:3px;padding:0 1px}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;
vertical-align:top} th{font-size:13px;color:#555}
.pair{margin:18px 0;padding:10px 12px;border:1px solid #e3e3e3;border-radius:6px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -1px 10px;border-radius:2px}
code{background:#f0f0f0;padding:1px 4px;border-radius:3px;font-size:12px;word-break:break-all}
svg text{font:11px system-ui,sans-serif}
"""
BLUE, ORANGE = "#3b76c4", "#e8871e"
SHADE = {"question": "#f3f6fb", "answer": "#fdf3e7", "separator": "#eee", "eos": "#f4f4f4"}  # token columns


def _fmt(x: float | None, digits: int = 3) -> str:
    return "none" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


VERDICT_MARK = {"unsupported": "rgba(214,39,40,0.55)", "uncertain": "rgba(240,170,0,0.45)"}


def _marks(pairs: tuple[PairView, ...], verdicts: bool) -> list[tuple[int, int, str, str]]:
    """(start, end, background, title) of the answer spans to mark, never overlapping. With verdicts: only the
    unsupported facts (red) and the uncertain ones (amber), unsupported first; a supported fact stays unmarked.
    Without (no calibration): every answer whose pair lowered the score, the redder the lower; that shows what
    the score was made of, not which facts are wrong."""
    worst = min((p.value for p in pairs), default=0.0)
    if verdicts:
        order = [p for v in ("unsupported", "uncertain") for p in pairs if p.verdict == v]
    else:
        order = [p for p in pairs if p.value < 0]
    marks: list[tuple[int, int, str, str]] = []
    for p in order:
        if not p.answer_span or any(a < p.answer_span[1] and p.answer_span[0] < b for a, b, _, _ in marks):
            continue
        if verdicts:
            color, title = VERDICT_MARK[p.verdict], f"pair {p.rank + 1}: {p.verdict} (p {_fmt(p.p_supported)})"
        else:
            alpha = 0.15 + 0.6 * (p.value / worst if worst < 0 else 0.0)
            color, title = f"rgba(214,39,40,{alpha:.2f})", f"pair {p.rank + 1}"
        marks.append((*p.answer_span, color, title))
    return sorted(marks)


def _highlighted(summary: str, pairs: tuple[PairView, ...], verdicts: bool) -> str:
    """The summary with the marks of `_marks`."""
    out, pos = [], 0
    for a, b, color, title in _marks(pairs, verdicts):
        out.append(html.escape(summary[pos:a]))
        out.append(f'<mark style="background:{color}" title="{html.escape(title)}">{html.escape(summary[a:b])}</mark>')
        pos = b
    out.append(html.escape(summary[pos:]))
    return "".join(out)


def _chart(p: PairView, width: int = 1040) -> str:
    """An SVG bar chart: per token, p(token | summary) in blue and p(token | source) in orange."""
    n = max(1, len(p.tokens))
    slot = min(60.0, (width - 50) / n)
    bar = slot * 0.38
    top, h, label_h = 14, 120, 70
    w_px, h_px = int(50 + slot * n), top + h + label_h
    # viewBox + a max width: the chart scales down with the page instead of overflowing it.
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w_px} {h_px}" width="100%" '
             f'style="max-width:{w_px}px" role="img" aria-label="per-token probabilities of pair {p.rank + 1}">']
    for frac in (0.0, 0.5, 1.0):
        y = top + h * (1 - frac)
        parts.append(f'<line x1="40" x2="{50 + slot * n:.0f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="34" y="{y + 4:.1f}" text-anchor="end">{frac:g}</text>')
    for i, t in enumerate(p.tokens):
        x0 = 45 + i * slot
        parts.append(f'<rect x="{x0:.1f}" y="{top}" width="{slot:.1f}" height="{h}" fill="{SHADE[t.role]}"/>')
        for j, (lp, color, name) in enumerate(((t.logp_summary, BLUE, "summary"), (t.logp_source, ORANGE,
                                                                                    "source"))):
            prob = math.exp(lp) if math.isfinite(lp) else 0.0
            bh = max(0.5, h * prob)
            parts.append(f'<rect x="{x0 + slot * 0.1 + j * bar:.1f}" y="{top + h - bh:.1f}" width="{bar:.1f}" '
                         f'height="{bh:.1f}" fill="{color}"><title>{html.escape(t.text)} | {name}: p = '
                         f'{prob:.3f} (log p {lp:.3f})</title></rect>')
        cx, cy = x0 + slot / 2, top + h + 8
        parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" transform="rotate(45 {cx:.1f} {cy:.1f})">'
                     f"{html.escape(t.text.strip() or repr(t.text))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def render_html(e: Explanation, *, title: str | None = None, index_href: str | None = None) -> str:
    """A self-contained page (inline CSS and SVG; the data as JSON in a script element, for tools)."""
    title = title or "QUALS explanation"
    data = json.dumps(e.to_dict(), ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")
    verdicts = e.verdict is not None
    everything = (*e.pairs, *e.coverage)

    def kind(p: PairView) -> str:  # the coverage pairs are numbered after the pairs
        return " (coverage)" if p.rank >= len(e.pairs) else ""

    rows = "".join(
        f"<tr><td>{p.rank + 1}{kind(p)}</td><td>{html.escape(p.question)}</td>"
        f"<td>{html.escape(p.answer)}</td>"
        + (f"<td>{html.escape(p.verdict or 'none')} ({_fmt(p.p_supported, 2)})</td>" if verdicts else "")
        + f"<td>{_fmt(p.s_x)}</td><td>{_fmt(p.s_y)}</td><td><b>{_fmt(p.value)}</b></td></tr>" for p in everything)
    verdict_head = "<th>verdict (p supported)</th>" if verdicts else ""
    if verdicts:
        headline = (f'<div><span class="score verdict-{html.escape(e.verdict)}">{html.escape(e.verdict)}</span> '
                    f'<span class="muted">p(consistent) {_fmt(e.p_consistent, 2)}, from the calibration named in '
                    "the signature (cal:)</span></div>")
        legend = (f'<p class="legend muted">Marked: <span style="background:{VERDICT_MARK["unsupported"]}"></span>'
                  f'unsupported fact <span style="background:{VERDICT_MARK["uncertain"]}"></span>uncertain; a '
                  "supported fact is not marked. Each fact is the answer of a pair below; a coverage pair asks about a "
                  "name, number or date that no generated pair asked about (it is judged, not part of QUALS).</p>")
    else:
        headline = ""
        legend = ('<p class="muted">Answer spans are marked by how much their pair lowered the score (redder = '
                  "lower): this bundle has no calibration, so a mark says what the score was made of, not that the "
                  "fact is wrong.</p>")
    charts = "".join(
        f'<div class="pair"><b>Pair {p.rank + 1}</b>{kind(p)}: '
        f"{html.escape(p.question)} &rarr; "
        f"<b>{html.escape(p.answer)}</b> <span class=\"muted\">value {_fmt(p.value)} = S_x {_fmt(p.s_x)} - S_y "
        f"{_fmt(p.s_y)}</span>{_chart(p)}</div>" for p in everything)
    notes = []
    if e.source_truncated:
        notes.append("the source was cut to the bundle's limit: text past the cut was not scored")
    if e.summary_truncated:
        notes.append("the summary was cut to the bundle's limit")
    if e.error:
        notes.append(f"error: {e.error}")
    if e.status != STATUS_OK and not e.error:
        notes.append("no QA pair survived the answer-span filter: there is no score")
    back = f'<p><a href="{html.escape(index_href)}">&larr; all records</a></p>' if index_href else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}</style></head><body>
{back}<h1>{html.escape(title)}</h1>
{headline}<div><span class="score">QUALS {_fmt(e.quals)}</span> <span class="muted">status {html.escape(e.status)},
{e.n_pairs} pair(s), variant {html.escape(e.variant)}; the score is the mean of the pairs' values (higher = more
consistent)</span></div>
{''.join(f'<p class="bad">{html.escape(n)}</p>' for n in notes)}
<h2>Summary</h2><div class="box" id="summary">{_highlighted(e.summary, everything, verdicts)}</div>
{legend}
<h2>Pairs, the most lowering first</h2>
<table><tr><th>#</th><th>question</th><th>answer</th>{verdict_head}<th>S_x (source)</th><th>S_y (summary)</th>
<th>value</th></tr>{rows}</table>
<p class="legend muted">Per token: <span style="background:{BLUE}"></span>p(token | summary)
<span style="background:{ORANGE}"></span>p(token | source); shaded columns: question (blue-grey), answer
(sand). A token likely for the summary but not for the source is what lowers a pair's value.</p>
{charts}
<h2>Source</h2><div class="box source">{html.escape(e.source)}</div>
<p class="muted">Signature: <code>{html.escape(e.signature)}</code></p>
<script type="application/json" id="quals-data">{data}</script>
</body></html>
"""


def render_index(entries: list[tuple[str, str, Explanation]]) -> str:
    """An index page: (file name, label, explanation) per record."""
    rows = "".join(
        f'<tr><td><a href="{html.escape(f)}">{html.escape(label)}</a></td><td>{_fmt(e.quals)}</td>'
        f"<td>{html.escape(e.verdict or 'none')}</td><td>{html.escape(e.status)}</td><td>{e.n_pairs}</td>"
        f"<td>{html.escape(e.summary[:140])}</td></tr>"
        for f, label, e in entries)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QUALS explanations</title><style>{CSS}</style></head><body>
<h1>QUALS explanations</h1><p class="muted">{len(entries)} record(s)</p>
<table><tr><th>record</th><th>QUALS</th><th>verdict</th><th>status</th><th>pairs</th><th>summary</th></tr>
{rows}</table>
</body></html>
"""


TITLE_BAND_IN = 0.9  # inches above the first pair's panel: the title and the legend, nothing else


def render_png(e: Explanation, path: str | Path) -> Path:
    """The per-pair chart as a PNG (matplotlib, the `explain` extra): one row of bars per pair, question and answer
    columns shaded as on the page; the title and the legend in a band of their own above the panels."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError as exc:
        raise ImportError("--png needs matplotlib: pip install 'quals[explain]'") from exc
    shown = (*e.pairs, *e.coverage)
    n = max(1, len(shown))
    height = 2.6 * n + TITLE_BAND_IN
    fig, axes = plt.subplots(n, 1, figsize=(12, height), squeeze=False)
    for ax, p in zip(axes[:, 0], shown):
        xs = range(len(p.tokens))
        for x, t in zip(xs, p.tokens):
            ax.axvspan(x - 0.5, x + 0.5, color=SHADE[t.role], zorder=0, linewidth=0)
        ax.bar([x - 0.2 for x in xs], [math.exp(t.logp_summary) for t in p.tokens], 0.4, color=BLUE, zorder=2)
        ax.bar([x + 0.2 for x in xs], [math.exp(t.logp_source) for t in p.tokens], 0.4, color=ORANGE, zorder=2)
        ax.set_xticks(list(xs), [t.text.strip() or repr(t.text) for t in p.tokens], rotation=45, ha="right",
                      fontsize=8)
        for label, t in zip(ax.get_xticklabels(), p.tokens):
            label.set_fontweight("bold" if t.role == "answer" else "normal")
        ax.set_xlim(-0.5, len(p.tokens) - 0.5)
        ax.set_ylim(0, 1)
        verdict = (f", {p.verdict}" if p.verdict else "") + (", coverage pair" if p.rank >= len(e.pairs) else "")
        ax.set_title(f"{p.rank + 1}. {p.question} \u2192 {p.answer}   (value {p.value:.3f}{verdict})", fontsize=9,
                     loc="left")
    if not shown:
        axes[0, 0].text(0.5, 0.5, f"no QA pair ({e.status})", ha="center")
    headline = f"QUALS {_fmt(e.quals)}" + (f", {e.verdict}" if e.verdict else "")
    fig.suptitle(headline, fontsize=11, x=0.01, ha="left", y=1 - 0.25 / height)
    fig.legend(handles=[Patch(color=BLUE, label="p(token | summary)"), Patch(color=ORANGE, label="p(token | source)"),
                        Patch(color=SHADE["question"], label="question"), Patch(color=SHADE["answer"], label="answer")],
               loc="upper right", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.99, 1 - 0.1 / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - TITLE_BAND_IN / height))
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_pages(scorer: Scorer, records: list, out_dir: str | Path, *, png: bool = False,
                progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """`quals explain`'s job: a page (and with `png` a chart) per record in `out_dir` (record-0001.html ...),
    and index.html when there are several. A record that could not be read (io.BadRecord) or scored gets a page
    that says why. Returns (pages written, records with status error)."""
    from .io import BadRecord

    out = Path(out_dir)
    entries, n_err = [], 0
    for n, rec in enumerate(records, 1):
        if isinstance(rec, BadRecord):
            result, fields = error_result(rec.reason, scorer.options.variant), rec.fields
            src, summ = str(fields.get("source", "")), str(fields.get("summary", ""))
        else:
            src, summ, fields = rec["source"], rec["summary"], rec
            result = scorer.score_one(src, summ)
        n_err += result.status == STATUS_ERROR
        e = from_result(result, src, summ, scorer)
        label = str(fields.get("id", n))
        name = f"record-{n:04d}.html"
        page = render_html(e, title=f"QUALS explanation: {label}",
                           index_href="index.html" if len(records) > 1 else None)
        (out / name).write_text(page, encoding="utf-8", errors="backslashreplace")
        if png:
            render_png(e, out / f"record-{n:04d}.png")
        entries.append((name, label, e))
        if progress:
            progress(1)
    if len(entries) > 1:
        (out / "index.html").write_text(render_index(entries), encoding="utf-8", errors="backslashreplace")
    return len(entries), n_err
