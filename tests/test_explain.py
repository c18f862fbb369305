"""`quals explain`: the page's data equals `quals score --details`, and the page renders in a real headless
browser (Debian's chromium) with the pairs in its text and a non-blank screenshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from quals.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default"
SHORT = ["--num-beams", "8", "--num-groups", "4", "--diversity", "0.5", "--max-length", "30", "--min-length", "4"]
SOURCE = "Anna Smith built a bridge in Paris in 1990. It cost four million francs."
SUMMARY = "Tom Jones built a bridge in Paris."

pytestmark = pytest.mark.skipif(not (DEFAULT / "quals.json").is_file(), reason="no models/default here")


def page_data(path: Path) -> dict:
    m = re.search(r'<script type="application/json" id="quals-data">(.*?)</script>', path.read_text("utf-8"), re.S)
    assert m, "the page carries no data"
    return json.loads(m.group(1))


def test_page_data_equals_score_details(tmp_path):
    args = ["--model", str(DEFAULT), "--source-text", SOURCE, "--summary-text", SUMMARY, *SHORT]
    scored = CliRunner().invoke(main, ["score", *args, "--details"])
    assert scored.exit_code == 0, scored.output
    want = json.loads(scored.stdout)
    r = CliRunner().invoke(main, ["explain", *args, "--output", str(tmp_path / "x")])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "x" / "index.html").exists()  # one record: no index
    got = page_data(tmp_path / "x" / "record-0001.html")
    assert got["quals"] == want["quals"] and got["status"] == want["status"] == "ok" and got["n_pairs"] >= 1
    assert [p["value"] for p in got["pairs"]] == sorted(p["value"] for p in want["pairs"])  # most lowering first
    by_q = {(p["question"], p["answer"], tuple(p["tokens"])): p for p in want["pairs"]}
    for p in got["pairs"]:
        w = by_q[(p["question"], p["answer"], tuple(t["id"] for t in p["tokens"]))]
        assert [t["logp_source"] for t in p["tokens"]] == w["logp_source"]
        assert [t["logp_summary"] for t in p["tokens"]] == w["logp_summary"]
        assert [t["search_score"] for t in p["tokens"]] == w["search_scores"]
        assert (p["s_x"], p["s_y"], p["value"]) == (w["s_x"], w["s_y"], w["value"])
        assert {t["role"] for t in p["tokens"]} <= {"question", "separator", "answer", "eos"}
        if p["answer_span"]:
            a, b = p["answer_span"]
            assert SUMMARY[a:b].lower() == p["answer"].lower()
    assert got["signature"].startswith("quals|bundle:")


def test_api_returns_the_structure_and_files_get_an_index(tmp_path):
    from quals import Scorer
    from quals.tasks.explain import explain

    scorer = Scorer.load(DEFAULT, num_beams=8, num_groups=4, max_length=30, min_length=4)
    e = explain(scorer, SOURCE, SUMMARY)
    assert e.pairs and e.pairs[0].value == min(p.value for p in e.pairs) and e.to_dict()["pairs"][0]["tokens"]
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "faithful", "source": SOURCE, "summary": "Anna Smith built a bridge."}) + "\n"
                   + "not json\n" + json.dumps({"id": "wrong", "source": SOURCE, "summary": SUMMARY}) + "\n")
    r = CliRunner().invoke(main, ["explain", "--model", str(DEFAULT), "--input", str(inp), "--output",
                                  str(tmp_path / "out"), *SHORT])
    assert r.exit_code == 1  # the line that is not JSON: its page says why
    index = (tmp_path / "out" / "index.html").read_text()
    for n, label in ((1, "faithful"), (2, "2"), (3, "wrong")):
        assert f'href="record-{n:04d}.html"' in index and label in index
    assert "not JSON" in (tmp_path / "out" / "record-0002.html").read_text()


def test_png_chart(tmp_path):
    pytest.importorskip("matplotlib", reason="the explain extra (matplotlib) is not installed")
    r = CliRunner().invoke(main, ["explain", "--model", str(DEFAULT), "--source-text", SOURCE, "--summary-text",
                                  SUMMARY, "--output", str(tmp_path), "--png", *SHORT])
    assert r.exit_code == 0, r.output
    w, h, nonblank = png_stats(tmp_path / "record-0001.png")
    assert w > 400 and h > 100 and nonblank > 0.02


# -- the browser -----------------------------------------------------------------------------------------

def png_stats(path: Path) -> tuple[int, int, float]:
    """(width, height, share of pixels that are not near-white) of an 8-bit RGB/RGBA PNG, decoded here."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    ihdr = next(c for t, c in chunks if t == b"IHDR")
    w, h, depth, color = struct.unpack(">IIBB", ihdr[:10])
    assert depth == 8 and color in (2, 6) and ihdr[12] == 0, "only 8-bit, non-interlaced RGB(A)"
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(c for t, c in chunks if t == b"IDAT"))
    stride, prev, nonblank = w * bpp, bytearray(w * bpp), 0
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        nonblank += sum(1 for x in range(0, stride, bpp) if min(line[x:x + 3]) < 230)
        prev = line
    return w, h, nonblank / (w * h)


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("QUALS_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is missing (apt-get install chromium); CI requires the browser test")
    return found


def test_page_renders_in_a_headless_browser(tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium here (apt-get install chromium); CI installs it and requires this test")
    r = CliRunner().invoke(main, ["explain", "--model", str(DEFAULT), "--source-text", SOURCE, "--summary-text",
                                  SUMMARY, "--output", str(tmp_path), *SHORT])
    assert r.exit_code == 0, r.output
    page = tmp_path / "record-0001.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1100,1300", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    w, h, nonblank = png_stats(shot)
    assert (w, h) == (1100, 1300) and nonblank > 0.03, (w, h, nonblank)
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], check=True, capture_output=True,
                         timeout=120, text=True).stdout
    data = page_data(page)
    assert data["pairs"] and "<svg" in dom
    for p in data["pairs"]:
        assert p["question"].replace("'", "&#x27;") in dom or p["question"] in dom


def test_the_png_keeps_its_title_band_clear_and_marks_question_and_answer(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image
    import numpy as np
    from quals.tasks.explain import TITLE_BAND_IN, Explanation, PairView, TokenView, render_png, token_label

    assert token_label("##aiso", "question") == "aiso" and token_label("[unused0]", "separator") == "\u2192"
    roles = ["question"] * 4 + ["separator"] + ["answer"] * 2 + ["eos"]
    tokens = tuple(TokenView(i, f"t{i}", r, -0.1 * i, -0.2 * i, -0.1) for i, r in enumerate(roles))
    pairs = tuple(PairView(k, "Who built the bridge?", "Anna Smith", -1.0 + k, -2.0, -1.0, (0, 10), tokens)
                  for k in range(3))
    e = Explanation("src", "Anna Smith built it.", -0.5, "ok", None, "paper", 3, False, False, "quals|x", pairs)
    png = matplotlib.image.imread(render_png(e, tmp_path / "c.png"))
    dark = png[..., :3].mean(axis=2) < 0.3
    band = dark[: int(TITLE_BAND_IN * 80) - 4]  # 80 dpi
    longest = max((len(run) for row in band for run in "".join("1" if d else "0" for d in row).split("0")),
                  default=0)
    assert dark.any() and longest < png.shape[1] // 4  # text and legend only: no panel's frame in the band
    below = dark[int(TITLE_BAND_IN * 80):]
    assert max(len(run) for row in below for run in "".join("1" if d else "0" for d in row).split("0")) \
        > png.shape[1] // 2  # the panels' frames are there
    colors = {tuple(np.round(px[:3] * 255).astype(int)) for px in png.reshape(-1, png.shape[-1])}
    assert (0xF3, 0xF6, 0xFB) in colors and (0xFD, 0xF3, 0xE7) in colors  # question and answer columns shaded
