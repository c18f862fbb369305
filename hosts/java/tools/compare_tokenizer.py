"""Diff the Java tokenizer against HF `tokenizers` on many strings (development aid).

Usage: .venv/bin/python hosts/java/tools/compare_tokenizer.py BUNDLE_DIR CLASSES_DIR
Runs io.quals.cli.TokenizeTool on the same strings and prints every mismatch (exit 1 if any).
"""

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from runtime.conformance import TOKENIZATION_TEXTS  # noqa: E402

EXTRA = [
    "",
    " ",
    "  ",
    "\t",
    "\n\n",
    "a",
    "A",
    "Hello",
    " hello world ",
    "Hello   world!!!",
    "I'm here, you're there; we've won.",
    "don't DON'T Don't",
    "ΣΑΣ σας ΌΣΟΣ",
    "İstanbul ıi",
    "straße STRASSE",
    "ﬁnance ﬀ",
    "①②③ ⅷ",
    "Ｆｕｌｌ ｗｉｄｔｈ",
    "e\u0301 e\u0300 n\u0303",
    "\u200b zero\u200bwidth \u00ad soft",
    "\ufeffBOM",
    "a\u00a0b\u2003c\u3000d",
    "x" * 99,
    "y" * 100,
    "z" * 101,
    "w" * 300,
    "ab" * 80,
    "日本語のテキスト",
    "한국어 텍스트",
    "עברית ערבית العربية",
    "Ελληνικά κείμενα",
    "Кириллица текст",
    "emoji 👍🏽 👨‍👩‍👧 🇫🇷",
    "math ∑∫√∞ ≤≥",
    "quotes “curly” ‘single’ «guillemets»",
    "dash – — ‑ -",
    "ellipsis … ...",
    "bullets • ·",
    "tabs\t\tand\r\n",
    "[SEP][SEP]",
    "a[SEP]b",
    "</s></s>",
    "a</s>b",
    "<sep> hello <sep>",
    "x<sep>y",
    "[unused0]a",
    "what? [unused0] yes",
    "<unk>",
    "[UNK]",
    "<pad> <s>",
    "[CLS] [MASK]",
    "3.14159 1e10 -0.5 +7 1,000,000",
    "$100 £50 €20 ¥1000",
    "user@example.com http://x.y/z?a=b&c=d",
    "#hashtag @mention",
    "C++ C# F# .NET",
    "Mr. Smith's dog's bone",
    "rock 'n' roll",
    "'quoted'",
    "''",
    "'s 't 're 've 'm 'll 'd",
    "   leading",
    "trailing   ",
    "a  b   c    d",
    "\x00\x01\x02 ctrl",
    "\ud7ff\ue000 private",
    "🎉",
    "🎉🎉🎉",
    "a🎉b",
]


def summeval_texts(n=60):
    rows = [
        json.loads(line)
        for line in open(
            Path(os.environ.get("QUALS_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))
            / "eval"
            / "summeval.jsonl"
        )
    ]
    random.seed(0)
    out = []
    for r in random.sample(rows, n // 2):
        out.append(r["source"][:2000])
        out.append(r["summary"] if "summary" in r else r.get("summaries", [""])[0])
    return out


def main():
    bundle, classes = Path(sys.argv[1]), sys.argv[2]
    tok = Tokenizer.from_file(str(bundle / "tokenizer.json"))
    texts = list(TOKENIZATION_TEXTS) + EXTRA + summeval_texts()
    # decoding of arbitrary id sequences (unknown ids, specials, partial UTF-8 bytes)
    random.seed(1)
    vocab = tok.get_vocab_size()
    seqs = [[random.randrange(vocab + 5) for _ in range(random.randrange(1, 12))] for _ in range(500)]
    texts += seqs
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    out = subprocess.run(
        ["java", "-cp", classes, "io.quals.cli.TokenizeTool", str(bundle / "tokenizer.json"), f.name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got = json.loads(out)
    bad = 0
    for t, g in zip(texts, got):
        ids = t if isinstance(t, list) else tok.encode(t, add_special_tokens=False).ids
        dec = tok.decode(ids, skip_special_tokens=True)
        if g["ids"] != ids or g["decoded"] != dec:
            bad += 1
            print(f"MISMATCH {t!r}\n  py   {ids} {dec!r}\n  java {g['ids']} {g['decoded']!r}")
    print(f"{bundle}: {len(texts) - bad}/{len(texts)} strings and id sequences identical")
    return bad


if __name__ == "__main__":
    bad = main()
    sys.exit(1 if bad else 0)
