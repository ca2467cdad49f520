"""Label a fixed sample of source files from installed packages with ScanCode's answers (run once).

    bench/.venv-anchors/bin/python bench/data/license_eval/make_scancode_reference.py
    ... make_scancode_reference.py --from-partial   # write the JSON from the checkpoint of a cut-short run

Sample: .py/.c/.h/.js files of the main venv's site-packages (third-party packages only; at most 50 KB so
that ScanCode's full matching stays affordable), ordered by sha256 of their path; the first 300 whose leading
comment block (or module docstring) holds license words, and the first 100 whose leading block holds none;
scanned in that sha256 order, with a checkpoint every 20 files (a rerun resumes from it), so that a run cut
short still gives a sample that is a prefix of the same order (the JSON says how many were scanned).
The item is the file's head, its first HEAD_LINES (100) lines (the header with the notice and the start of
the code; keeps ScanCode's full matching at about a second per item on a shared 2-core machine, where whole
files took ~3 s). Each head is scanned by scancode-toolkit-mini (licensedcode.detection.detect_licenses, full matching,
default min_score). Labels are ScanCode's answers, the field's reference for notices, not ours:
  - ScanCode finds a license -> set notices_source, expected = the SPDX expressions it found, joined by AND
  - ScanCode finds nothing    -> set neg_code (code without a license)
  - ScanCode finds only "unknown-license-reference"-like ids -> left out (counted), no clear label
Writes scancode_reference.json next to this file.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SITE = REPO / ".venv/lib/python3.11/site-packages"
EXTS = {".py", ".c", ".h", ".js"}
MAX_BYTES = 50_000
N_WITH, N_WITHOUT = 300, 100
HEAD_LINES = 100
LICENSE_WORDS = re.compile(r"licen[cs]|copyright|spdx|\bgpl\b|redistribut|permission is hereby|public domain",
                           re.I)
NOT_LICENSES = {"LicenseRef-scancode-unknown-license-reference", "LicenseRef-scancode-unknown",
                "LicenseRef-scancode-warranty-disclaimer", "LicenseRef-scancode-free-unknown",
                "LicenseRef-scancode-unknown-spdx"}
OWN = ("curate", "_curate", "__editable__")


def leading_block(text: str) -> str:
    """The first comment block or module docstring (lines before the first line of code)."""
    lines, out, in_doc, in_c = text.splitlines()[:200], [], None, False
    for line in lines:
        s = line.strip()
        if in_doc:
            out.append(line)
            if in_doc in s:
                in_doc = None
            continue
        if in_c:
            out.append(line)
            if "*/" in s:
                in_c = False
            continue
        if not s or s.startswith("#") or s.startswith("//"):
            out.append(line)
            continue
        if s.startswith("/*"):
            out.append(line)
            in_c = "*/" not in s[2:]
            continue
        m = re.match(r'^[rRbBuU]?("""|\'\'\')', s)
        if m and not out or m and all(not x.strip() or x.strip().startswith("#") for x in out):
            out.append(line)
            q = m.group(1)
            if s.count(q) < 2:
                in_doc = q
            continue
        break
    return "\n".join(out)


def main() -> None:
    from licensedcode import cache
    from licensedcode.detection import detect_licenses
    files = []
    for p in SITE.rglob("*"):
        if p.suffix not in EXTS or not p.is_file() or p.is_symlink():
            continue
        rel = str(p.relative_to(SITE))
        if rel.startswith(OWN) or p.stat().st_size > MAX_BYTES or p.stat().st_size == 0:
            continue
        files.append(rel)
    files.sort(key=lambda r: hashlib.sha256(r.encode()).hexdigest())
    with_words, without = [], []
    for rel in files:
        if len(with_words) >= N_WITH and len(without) >= N_WITHOUT:
            break
        text = (SITE / rel).read_bytes().decode("utf-8", errors="replace")
        if LICENSE_WORDS.search(leading_block(text)):
            if len(with_words) < N_WITH:
                with_words.append(rel)
        elif len(without) < N_WITHOUT:
            without.append(rel)
    t0 = time.time()
    index = cache.get_index()
    licensing = cache.get_licensing()
    print(f"index loaded in {time.time() - t0:.1f} s; scanning {len(with_words) + len(without)} files",
          file=sys.stderr)
    items, left_out = [], []
    chosen = set(with_words)
    order = sorted(with_words + without, key=lambda r: hashlib.sha256(r.encode()).hexdigest())
    part = HERE / "scancode_reference.partial.json"
    done: dict[str, dict | None] = json.loads(part.read_text()) if part.exists() else {}
    for k, rel in enumerate(order):
        if rel in done:
            row = done[rel]
        elif "--from-partial" in sys.argv:  # write what the checkpoint holds (a prefix of the order) and stop
            break
        else:
            lines = (SITE / rel).read_bytes().decode("utf-8", errors="replace").splitlines(keepends=True)
            end = min(len(lines), HEAD_LINES)
            text = "".join(lines[:end])
            exprs = []
            for det in detect_licenses(index=index, query_string=text):
                if det.license_expression:
                    spdx = cache.build_spdx_license_expression(det.license_expression, licensing=licensing)
                    if spdx not in exprs:
                        exprs.append(spdx)
            real = [e for e in exprs
                    if set(re.findall(r"[A-Za-z0-9.+-]+", e)) - NOT_LICENSES - {"AND", "OR", "WITH"}]
            sample = "header-with-license-words" if rel in chosen else "header-without-license-words"
            row = {"ref": {"root": "site", "path": rel, "extract": "lines", "start": 0, "end": end},
                   "sample": sample, "scancode": exprs}
            if real:
                row.update(set="notices_source", expected=" AND ".join(f"({e})" if " " in e else e for e in real))
            elif exprs:
                row = None
            else:
                row.update(set="neg_code", expected=None)
            done[rel] = row
            if len(done) % 20 == 0:
                part.write_text(json.dumps(done))
                print(f"{len(done)} files, {time.time() - t0:.0f} s", file=sys.stderr)
        if row is None:
            left_out.append(rel)
        else:
            items.append(row)
    out = {"source": f"source file of an installed package; label = ScanCode's answer "
                     f"(scancode-toolkit-mini {md.version('scancode-toolkit-mini')}, full matching)",
           "scancode_version": md.version("scancode-toolkit-mini"),
           "sample_rule": __doc__.split("Sample: ", 1)[1].split("\nLabels", 1)[0].strip(),
           "scanned": len(items) + len(left_out), "planned": len(order),
           "left_out_only_unknown_references": left_out, "seconds": round(time.time() - t0, 1),
           "items": items}
    (HERE / "scancode_reference.json").write_text(json.dumps(out, indent=1) + "\n")
    part.unlink(missing_ok=True)
    print(f"{sum(r['set'] == 'notices_source' for r in items)} notices_source, "
          f"{sum(r['set'] == 'neg_code' for r in items)} neg_code, {len(left_out)} left out",
          file=sys.stderr)


if __name__ == "__main__":
    main()
