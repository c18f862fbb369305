"""Diff this host's tokenization (@huggingface/tokenizers plus src/text.js) against HF `tokenizers` (development aid).

Usage: .venv/bin/python hosts/js/tools/compare_tokenizer.py BUNDLE [RECORDS.jsonl...]

Encodes (no special tokens) and decodes (skipping special tokens) the conformance texts, tricky strings, random
strings and the sources and summaries of the given JSONL files with both, and prints every mismatch (exit 1 if any).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from quals.tasks.conformance import TOKENIZATION_TEXTS
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
TRICKY = [
    "", " ", "\t", "\n\n", "a", "Hello   world!!!", "I'm here, you're there; we've won.", "don't DON'T Don't",
    "ΣΑΣ σας ΌΣΟΣ", "İstanbul ıi", "straße STRASSE", "ﬁnance ﬀ", "①②③ ⅷ", "Ｆｕｌｌ ｗｉｄｔｈ",
    "e\u0301 e\u0300 n\u0303",
    "\u200b zero\u200bwidth \u00ad soft", "\u3000ideographic\u3000space", "tab\tand\u00a0nbsp", "क्षत्रिय", "Ελληνικά",
    "עִבְרִית", "العربية", "👩‍👩‍👧 family 🇫🇷 flag", "x\u0000y\u001fz\u007f", "<s>hi</s> [CLS] [unused0]",
    "   lead", "trail   ",
    "1,000,000.50 $5 €5 5%", "e.g. U.S.A. i.e. etc.", "C++ C# F# .NET node.js", "😀" * 5, "ab" * 300,
]


def texts(files: list[str]) -> list[str]:
    out = list(TOKENIZATION_TEXTS) + TRICKY
    rng = random.Random(0)
    pool = "abcXYZ 0123,.;'\"!?-()[]{}<>/\\@#$%^&*_+=~`|éüßçñøåæœÆ东京서울🎉🚀\u200b\u00a0\t\n\u3000ﬁ①ＦΣς"
    out += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 40))) for _ in range(300)]
    for f in files:
        for line in open(f, encoding="utf-8"):
            if line.strip():
                rec = json.loads(line)
                out += [rec.get("source", ""), rec.get("summary", "")]
    return out


def main() -> int:
    bundle = Path(sys.argv[1])
    manifest = json.loads((bundle / "quals.json").read_text(encoding="utf-8"))
    tok = Tokenizer.from_file(str(bundle / manifest["files"]["tokenizer"]))
    items = texts(sys.argv[2:])
    ids = [tok.encode(t, add_special_tokens=False).ids for t in items]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump({"texts": items, "ids": ids}, f, ensure_ascii=False)
    try:
        proc = subprocess.run(["node", str(HERE / "tokenize.js"), str(bundle), f.name], capture_output=True, text=True,
                              check=True)
    finally:
        Path(f.name).unlink()
    got = json.loads(proc.stdout)
    bad = 0
    for text, want, mine in zip(items, ids, got["ids"]):
        if want != mine:
            bad += 1
            print(f"encode {text[:60]!r}: js {mine[:20]} != tokenizers {want[:20]}")
    for want_ids, mine in zip(ids, got["decoded"]):
        want = tok.decode(want_ids, skip_special_tokens=True)
        if want != mine:
            bad += 1
            print(f"decode {want_ids[:20]}: js {mine[:60]!r} != tokenizers {want[:60]!r}")
    print(f"{bundle}: {len(items)} texts, {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
