"""False alarms of the license detector on text nobody here has read for license work: the labelled
toxicity training texts of ../shared/corpora (social media and comment text in en, de, fr, pl, pt, zh),
joined per language into ~3.5 KB documents. None of them is a license statement, so every match is a
false alarm; each is printed with its context so that a reader can check it.

    .venv/bin/python bench/license_fresh_negatives.py
"""
from __future__ import annotations

import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "toxicity" / "train" / "labelled.jsonl.gz"
DOC_CHARS = 3500


def documents(path: Path = SOURCE) -> list[tuple[str, str]]:
    by_lang: dict[str, list[str]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_lang[row["lang"]].append(row["text"])
    docs = []
    for lang in sorted(by_lang):
        cur: list[str] = []
        size = 0
        for text in by_lang[lang]:
            cur.append(text)
            size += len(text) + 1
            if size > DOC_CHARS:
                docs.append((lang, "\n".join(cur)))
                cur, size = [], 0
    return docs


def main() -> int:
    if not SOURCE.exists():
        print(f"skipped: {SOURCE} is absent")
        return 0
    import importlib

    from curate.license import detect_matches

    gate = importlib.import_module("curate.license.detect")._prefilter

    docs = documents()
    start = time.process_time()
    alarms = []
    for lang, doc in docs:
        found = detect_matches(doc)
        if found:
            alarms.append((lang, found[0], doc))
    ms = (time.process_time() - start) * 1000 / len(docs)
    langs = Counter(lang for lang, _ in docs)
    print(f"{len(docs)} documents ({', '.join(f'{k} {v}' for k, v in sorted(langs.items()))}), "
          f"{sum(len(d) for _, d in docs) / len(docs) / 1000:.1f} KB/doc: "
          f"{sum(gate(d) for _, d in docs)} pass the keyword gate, "
          f"{len(alarms)} with a license match (false alarms), {ms:.3f} CPU ms/doc")
    for lang, m, doc in alarms:
        print(f"- {lang} {m.spdx} ({m.kind}, {m.rule}): {doc[max(m.start - 120, 0):m.end + 60]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
