"""Build the external license evaluation sets: items.json (labels + where to read each text) and splits.json.

Nothing here is written by this project: every text is read in place from ../shared/corpora (collected
upstream files, see its SOURCES.md), from the Debian system files of this machine (/usr/share/common-licenses,
/usr/share/doc/*/copyright) or from installed third-party Python packages (the main venv's site-packages).
Texts are NOT copied into the repository: each item stores its source, path, the sha256 of its text and the
expected labels; bench/license_eval.py reads the text back and checks the hash.

    .venv/bin/python bench/data/license_eval/build.py            # (re)write items.json and splits.json

Splits: every item goes to dev (30%) or test (70%) by sha256 of its identifier ("<set>:<source path>[#n]"):
int(sha256[:8], 16) % 100 < 30 -> dev. The rule is fixed, so an item's split never depends on which other
items exist; splits.json was first written before any tuning against these sets.

Label rules (see LABELS.md next to this file for the tables and the counts of skipped files).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SHARED = Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared")) / "corpora"
SITE = REPO / ".venv/lib/python3.11/site-packages"
USR = Path("/usr/share")
ANCHORS_SITE = REPO / "bench/.venv-anchors/lib/python3.11/site-packages"
ROOTS = {"shared": SHARED, "site": SITE, "usr": USR, "anchors": ANCHORS_SITE}

DEV_PERCENT = 30
PROSE_DOC_CHARS = 3500


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(identifier: str) -> str:
    return "dev" if int(hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:8], 16) % 100 < DEV_PERCENT \
        else "test"


def read(root: str, rel: str) -> str:
    return (ROOTS[root] / rel).read_bytes().decode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------------
# Extraction (shared with bench/license_eval.py, which imports these to read the texts back)
# --------------------------------------------------------------------------------------------------

def strip_front_matter(text: str) -> str:
    """choosealicense _licenses/*.txt: drop the YAML front matter between the first two '---' lines."""
    if text.startswith("---"):
        parts = text.split("---\n", 2)
        if len(parts) == 3:
            return parts[2]
    return text


def jsonl_doc(root: str, rel: str, n: int) -> str:
    path = ROOTS[root] / rel
    opener = gzip.open if rel.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == n:
                return json.loads(line)["text"]
    raise IndexError(n)


def parquet_doc(root: str, rel: str, n: int) -> str:
    import pyarrow.parquet as pq
    return pq.read_table(ROOTS[root] / rel, columns=["text"]).column("text")[n].as_py()


_UD_CACHE: dict[str, list[str]] = {}


def ud_sentences(root: str, rel: str) -> list[str]:
    if rel not in _UD_CACHE:
        with gzip.open(ROOTS[root] / rel, "rt", encoding="utf-8") as fh:
            _UD_CACHE[rel] = [json.loads(line)["text"] for line in fh]
    return _UD_CACHE[rel]


def text_of(item: dict) -> str:
    """The text of one item, read in place (raises OSError/KeyError when the source is absent)."""
    ref = item["ref"]
    how = ref.get("extract", "file")
    if how == "file":
        return read(ref["root"], ref["path"])
    if how == "front-matter":
        return strip_front_matter(read(ref["root"], ref["path"]))
    if how == "jsonl":
        return jsonl_doc(ref["root"], ref["path"], ref["n"])
    if how == "parquet":
        return parquet_doc(ref["root"], ref["path"], ref["n"])
    if how == "ud-concat":
        sents = ud_sentences(ref["root"], ref["path"])
        return " ".join(sents[ref["start"]:ref["end"]])
    if how == "lines":
        lines = read(ref["root"], ref["path"]).splitlines(keepends=True)
        return "".join(lines[ref["start"]:ref["end"]])
    raise ValueError(how)


# --------------------------------------------------------------------------------------------------
# Sets
# --------------------------------------------------------------------------------------------------

def item(set_name: str, root: str, rel: str, text: str, expected: str | None, *, source: str,
         suffix: str = "", extract: str = "file", note: str = "", **ref_extra) -> dict:
    ident = f"{set_name}:{root}:{rel}{suffix}"
    ref = {"root": root, "path": rel, "extract": extract, **ref_extra}
    out = {"id": ident, "set": set_name, "source": source, "ref": ref, "sha256": sha(text),
           "chars": len(text), "expected": expected}
    if note:
        out["note"] = note
    return out


def front_matter_id(text: str) -> str | None:
    m = re.search(r"^spdx-id:\s*(\S+)", text, re.M)
    return m.group(1) if m else None


def full_choosealicense() -> list[dict]:
    folder = SHARED / "license/choosealicense/_licenses"
    out = []
    for p in sorted(folder.glob("*.txt")):
        raw = p.read_text(encoding="utf-8")
        spdx_id = front_matter_id(raw)
        rel = str(p.relative_to(SHARED))
        out.append(item("full_texts", "shared", rel, strip_front_matter(raw), spdx_id, extract="front-matter",
                        source="choosealicense.com (vendored in licensee/licensee @fb924e7), spdx-id from "
                               "the file's front matter"))
    return out


# licensee fixture files whose expected license is not the fixture's key (read by hand).
LICENSEE_FILE_OVERRIDES = {"lgpl/LICENSE": "GPL-3.0"}
LICENSEE_NAME = re.compile(r"^(licen[cs]e|copying|unlicense)", re.I)


def full_licensee(stats: dict) -> list[dict]:
    import yaml  # PyYAML is in the main venv (a dependency of the test extras); the anchors venv has it too
    base = SHARED / "license/licensee_fixtures"
    fixtures = yaml.safe_load((base / "fixtures.yml").read_text())
    key_to_spdx = {}
    for p in (SHARED / "license/choosealicense/_licenses").glob("*.txt"):
        spdx_id = front_matter_id(p.read_text(encoding="utf-8"))
        if spdx_id:
            key_to_spdx[p.stem] = spdx_id
    out, skipped = [], []
    for name, exp in sorted(fixtures.items()):
        key = (exp or {}).get("key")
        spdx_id = key_to_spdx.get(key or "")
        files = sorted(p for p in (base / name).rglob("*") if p.is_file() and
                       (LICENSEE_NAME.match(p.name) or p.name == "license.html" or p.parent.name == "LICENSES") and not p.name.endswith(".header"))
        if spdx_id is None or not files:
            skipped.append(f"{name} (key {key!r})")
            continue
        for p in files:
            rel_fixture = str(p.relative_to(base))
            expected = LICENSEE_FILE_OVERRIDES.get(rel_fixture, spdx_id)
            if len(files) > 1 and rel_fixture not in LICENSEE_FILE_OVERRIDES and name != "lgpl":
                # several license-named files in one fixture: keep those that hold the license text
                pass
            if name == "mit-with-copyright" and p.name == "COPYRIGHT.md":
                continue  # a bare copyright line; licensee reads it as "no license"
            rel = str(p.relative_to(SHARED))
            out.append(item("full_texts", "shared", rel, read("shared", rel), expected,
                            source="licensee/licensee spec/fixtures @fb924e7, key from fixtures.yml"))
    stats["licensee_skipped"] = skipped
    return out


# Debian /usr/share/common-licenses: file name -> SPDX id of the text. The texts carry no "only"/"or later"
# choice (that is made in notices), so the base id is the label and -only/-or-later both count as right.
DEBIAN_COMMON = {
    "Apache-2.0": "Apache-2.0", "Artistic": "Artistic-1.0-Perl", "CC0-1.0": "CC0-1.0",
    "GFDL-1.2": "GFDL-1.2", "GFDL-1.3": "GFDL-1.3", "GPL-1": "GPL-1.0", "GPL-2": "GPL-2.0",
    "GPL-3": "GPL-3.0", "LGPL-2": "LGPL-2.0", "LGPL-2.1": "LGPL-2.1", "LGPL-3": "LGPL-3.0",
    "MPL-1.1": "MPL-1.1", "MPL-2.0": "MPL-2.0", "BSD": "BSD-3-Clause",
}
# Symlinks to the newest version (GPL -> GPL-3, LGPL -> LGPL-3, GFDL -> GFDL-1.3) are duplicates: skipped.


def full_debian(stats: dict) -> list[dict]:
    folder = USR / "common-licenses"
    out, skipped = [], []
    for p in sorted(folder.iterdir()):
        if p.is_symlink() or p.name not in DEBIAN_COMMON:
            skipped.append(p.name)
            continue
        rel = str(p.relative_to(USR))
        out.append(item("full_texts", "usr", rel, read("usr", rel), DEBIAN_COMMON[p.name],
                        source="Debian base-files /usr/share/common-licenses (name mapped to SPDX, LABELS.md)"))
    stats["debian_common_skipped"] = skipped
    return out


PYPI_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying)", re.I)
OWN_DISTS = {"curate"}  # this project: not external


def full_pypi(stats: dict) -> list[dict]:
    out, no_expr, compound, several, none = [], [], [], [], []
    for dist in sorted(SITE.glob("*.dist-info")):
        name = dist.name.split("-")[0]
        if name in OWN_DISTS:
            continue
        meta = (dist / "METADATA").read_text(encoding="utf-8", errors="replace") if (dist / "METADATA").exists() else ""
        m = re.search(r"^License-Expression:\s*(.+?)\s*$", meta, re.M)
        if not m:
            no_expr.append(dist.name)
            continue
        expr = m.group(1)
        if re.search(r"\s(AND|OR|WITH)\s", expr):
            compound.append(f"{dist.name} ({expr})")
            continue
        files = sorted(p for p in dist.rglob("*") if p.is_file() and
                       (PYPI_LICENSE_FILE.match(p.name) or "licenses" in p.relative_to(dist).parts[:-1]))
        if not files:
            none.append(dist.name)
            continue
        if len(files) > 1:
            several.append(f"{dist.name} ({len(files)} files)")
            continue
        rel = str(files[0].relative_to(SITE))
        out.append(item("full_texts", "site", rel, read("site", rel), expr,
                        source=f"license file of the installed wheel {dist.name}, label = its METADATA "
                               f"License-Expression"))
    stats["pypi"] = {"used": len(out), "no License-Expression": len(no_expr),
                     "compound expression (skipped)": compound, "several license files (skipped)": several,
                     "no license file": none}
    return out


# Debian DEP-5 short names -> SPDX. Names already equal to an SPDX id (case-insensitive, e.g. Apache-2.0,
# BSD-3-clause, Zlib, ISC, CC0-1.0, BSL-1.0, curl, FTL, X11, FSFULLR, FSFAP) map through the SPDX list;
# this table holds the Debian-only spellings. A file with any name that maps to nothing is skipped (counted).
DEP5_NAMES = {
    "expat": "MIT", "mit/x11": "MIT", "public-domain": "LicenseRef-scancode-public-domain",
    "artistic": "Artistic-1.0-Perl", "artistic-1": "Artistic-1.0-Perl", "openldap-2.8": "OLDAP-2.8",
    "bsd-4-clause": "BSD-4-Clause", "psf-2": "PSF-2.0", "python-2.0": "Python-2.0",
    "zlib/libpng": "Zlib", "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "cc-by-sa-3.0": "CC-BY-SA-3.0",
    "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "cc-by-3.0": "CC-BY-3.0",
    "gfdl-1.2+": "GFDL-1.2-or-later", "gfdl-1.3+": "GFDL-1.3-or-later", "gfdl-1.3": "GFDL-1.3-only",
    "wtfpl": "WTFPL", "apache-2": "Apache-2.0", "cc0": "CC0-1.0", "pd": "LicenseRef-scancode-public-domain", "unlicense": "Unlicense", "sil-ofl-1.1": "OFL-1.1", "ofl-1.1": "OFL-1.1",
    "bsd-2-clause-freebsd": "BSD-2-Clause-FreeBSD", "tcl": "TCL", "openssl": "OpenSSL", "ssleay": "SSLeay",
}
_GNU = re.compile(r"^(a?gpl|lgpl)[-v]?(\d(?:\.\d)?)(\+|\.0\+|-only|-or-later)?$", re.I)
# exceptions named after "with": kept out of the id set (id precision/recall is over license ids)
_DEP5_SPLIT = re.compile(r"\s*,?\s+(?:or|and)\s+|\s*,\s*", re.I)


def dep5_name_to_spdx(name: str, spdx_keys: dict[str, str]) -> str | None:
    name = name.strip().strip(",")
    low = name.lower()
    if low in DEP5_NAMES:
        return DEP5_NAMES[low]
    m = _GNU.match(name)
    if m:
        fam, ver, plus = m.group(1).upper(), m.group(2), m.group(3) or ""
        if "." not in ver:
            ver += ".0"
        if fam == "LGPL" and ver == "2.0":
            ver = "2.0"
        later = plus in ("+", ".0+", "-or-later")
        return f"{fam}-{ver}-{'or-later' if later else 'only'}"
    return spdx_keys.get(low)


def spdx_key_table() -> dict[str, str]:
    from license_expression import get_spdx_licensing
    licensing = get_spdx_licensing()
    table = {}
    for key, sym in licensing.known_symbols.items():
        if not getattr(sym, "is_exception", False):
            table[key.lower()] = sym.key
    return table


def notices_dep5(stats: dict) -> list[dict]:
    spdx_keys = spdx_key_table()
    out, unmapped_files, names_unmapped, big, nolic = [], 0, {}, 0, 0
    for p in sorted((USR / "doc").glob("*/copyright")):
        if p.is_symlink():
            continue
        try:
            raw = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "copyright-format/1.0" not in raw.split("\n", 1)[0]:
            continue
        if len(raw) > 200_000:
            big += 1
            continue
        paragraphs, ids, bad = [], set(), []
        for para in re.split(r"\n\s*\n", raw):
            if not re.search(r"^Files:", para, re.M):
                continue  # header and standalone License paragraphs: the Files paragraphs say what applies
            m = re.search(r"^License:[ \t]*(.*)$", para, re.M)
            if not m or not m.group(1).strip():
                bad.append("<empty>")
                continue
            short = re.sub(r"\s+with\s+.*?exception\b", "", m.group(1).strip(), flags=re.I)
            parts = re.split(r"(\s*,?\s+(?:or|and)\s+|\s*,\s*)", short, flags=re.I)
            expr = []
            for k, part in enumerate(parts):
                if k % 2:  # a connector
                    expr.append(" OR " if re.search(r"\bor\b", part, re.I) else " AND ")
                    continue
                spdx_id = dep5_name_to_spdx(part, spdx_keys) if part else None
                if spdx_id is None:
                    bad.append(part or "<empty>")
                else:
                    ids.add(spdx_id)
                    expr.append(spdx_id)
            para_expr = "".join(expr)
            if para_expr not in paragraphs:
                paragraphs.append(para_expr)
        if bad or not ids:
            unmapped_files += 1
            nolic += not ids
            for name in bad:
                names_unmapped[name] = names_unmapped.get(name, 0) + 1
            continue
        expected = " AND ".join(f"({e})" if " OR " in e else e for e in paragraphs)
        rel = str(p.relative_to(USR))
        out.append(item("notices_debian", "usr", rel, raw, expected,
                        source="Debian DEP-5 copyright file; labels = the License: fields of its Files "
                               "paragraphs mapped to SPDX (LABELS.md)"))
    stats["dep5"] = {"used": len(out), "skipped (a License: name with no SPDX mapping, or none)": unmapped_files,
                     "skipped (>200 KB)": big,
                     "most common unmapped names": sorted(names_unmapped.items(), key=lambda kv: -kv[1])[:25]}
    return out


def full_scancode(stats: dict) -> list[dict]:
    """ScanCode's license texts (licensedcode/data/licenses/*.LICENSE in scancode-toolkit-mini, CC-BY-4.0),
    read in place from bench/.venv-anchors: every non-deprecated license with a real SPDX id (not a
    LicenseRef-). The label is the file's spdx_license_key. ScanCode's own data, so ScanCode scores itself
    here; it is the broadest list of SPDX license texts on this machine."""
    folder = ANCHORS_SITE / "licensedcode/data/licenses"
    if not folder.exists():
        stats["full_texts_scancode"] = "skipped: bench/.venv-anchors absent (bash bench/license_anchors.sh)"
        return []
    out, skipped = [], 0
    for p in sorted(folder.glob("*.LICENSE")):
        raw = p.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"^spdx_license_key:\s*(\S+)", raw, re.M)
        deprecated = re.search(r"^is_deprecated:\s*yes", raw, re.M)
        exception = re.search(r"^is_exception:\s*yes", raw, re.M)
        body = strip_front_matter(raw)
        if not m or m.group(1).startswith("LicenseRef-") or deprecated or exception or len(body.strip()) < 50:
            skipped += 1
            continue
        rel = str(p.relative_to(ANCHORS_SITE))
        out.append(item("full_texts_scancode", "anchors", rel, body, m.group(1), extract="front-matter",
                        source="ScanCode license texts (scancode-toolkit-mini 32.5.0 licensedcode/data, "
                               "CC-BY-4.0), label = spdx_license_key"))
    stats["full_texts_scancode"] = {"used": len(out), "skipped (no SPDX id, LicenseRef, deprecated, "
                                    "exception or empty)": skipped}
    return out


def neg_prose(stats: dict) -> list[dict]:
    out = []
    marked = json.loads((HERE / "crawl_marks.json").read_text())["marks"]
    sources = [("crawl/dolma/cc_en_head-0091.jsonl.gz", "jsonl"), ("crawl/dolma/cc_en_head-0174.jsonl.gz", "jsonl"),
               ("crawl/dolma/provided_documents_000.json.gz", "jsonl"),
               ("crawl/data_juicer/redpajama-c4-refined.jsonl", "jsonl"),
               ("crawl/data_juicer/redpajama-cc-2023-06-refined.jsonl", "jsonl"),
               ("crawl/data_juicer/sample.parquet", "parquet")]
    for rel, how in sources:
        if not (SHARED / rel).exists():
            continue
        n = 0
        while True:
            try:
                text = jsonl_doc("shared", rel, n) if how == "jsonl" else parquet_doc("shared", rel, n)
            except IndexError:
                break
            key = f"{rel}#{n}"
            mark = marked.get(key)
            set_name = "web_footer" if mark and mark["holds_license_statement"] else "neg_prose"
            expected = mark["expected"] if mark and mark["holds_license_statement"] else None
            out.append(item(set_name, "shared", rel, text, expected, suffix=f"#{n}", extract=how, n=n,
                            source="crawl sample document (dolma / data-juicer tests), read by hand",
                            note=mark["note"] if mark else ""))
            n += 1
    ipsum = "license/licensee_fixtures/ipsum.txt"
    out.append(item("neg_prose", "shared", ipsum, read("shared", ipsum), None,
                    source="licensee fixture ipsum.txt (lorem ipsum, licensee's own non-license text)"))
    # Universal Dependencies sentences (news, web, wiki, reviews) concatenated in file order to ~3.5 KB docs.
    rel = "toxicity/train/clean_sentences.jsonl.gz"
    sents = ud_sentences("shared", rel)
    start = 0
    while start < len(sents):
        end, size = start, 0
        while end < len(sents) and size < PROSE_DOC_CHARS:
            size += len(sents[end]) + 1
            end += 1
        if size >= PROSE_DOC_CHARS * 0.8:
            text = " ".join(sents[start:end])
            out.append(item("neg_prose_ud", "shared", rel, text, None, suffix=f"#{start}-{end}",
                            extract="ud-concat", start=start, end=end,
                            source="Universal Dependencies sentences (toxicity/train/clean_sentences) "
                                   "concatenated to ~3.5 KB"))
        start = end
    stats["neg_prose_ud_license_words"] = sum(
        1 for it in out if it["set"] == "neg_prose_ud" and re.search(r"licen|copyright|rights reserved", text_of(it), re.I))
    return out


def from_labels_file(name: str) -> list[dict]:
    """Items labelled by hand or by the reference scanner, stored in <name>.json next to this file."""
    path = HERE / f"{name}.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    out = []
    for row in data["items"]:
        ref = row["ref"]
        try:
            text = text_of({"ref": ref})
        except (OSError, KeyError, IndexError):
            continue
        suffix = f"#{ref['start']}-{ref['end']}" if ref.get("extract") == "lines" else ""
        it = item(row["set"], ref["root"], ref["path"], text, row.get("expected"), suffix=suffix,
                  source=data["source"], note=row.get("note", ""),
                  **{k: v for k, v in ref.items() if k not in ("root", "path")})
        out.append(it)
    return out


def dedupe(items: list[dict]) -> list[dict]:
    seen, out = set(), []
    for it in items:
        key = (it["set"], it["sha256"])
        if key in seen:
            continue
        seen.add(key)
        out.append(it)
    return out


def main() -> None:
    if not SHARED.exists():
        sys.exit(f"skipped: {SHARED} is absent (the external corpora are read in place, never copied)")
    stats: dict = {}
    items = []
    items += full_choosealicense()
    items += full_licensee(stats)
    items += full_debian(stats)
    items += full_pypi(stats)
    items += full_scancode(stats)
    items += notices_dep5(stats)
    items += neg_prose(stats)
    items += from_labels_file("mentions_labels")
    items += from_labels_file("scancode_reference")
    before = len(items)
    items = dedupe(items)
    stats["duplicates dropped (same set, same text)"] = before - len(items)
    for it in items:
        it["split"] = split_of(it["id"])
    sources: dict[str, str] = {}
    for it in items:
        it["source"] = sources.setdefault(it["source"], f"s{len(sources)}")
    with open(HERE / "items.json", "w") as fh:  # one item a line: small diffs, greppable
        fh.write('{"sources": ' + json.dumps({v: k for k, v in sources.items()}, indent=1) + ',\n')
        fh.write('"build_stats": ' + json.dumps(stats) + ',\n"items": [\n')
        fh.write(",\n".join(json.dumps(it, separators=(",", ":")) for it in items) + "\n]}\n")
    splits = {"rule": f"int(sha256(id)[:8], 16) % 100 < {DEV_PERCENT} -> dev, else test",
              "dev": sorted(it["id"] for it in items if it["split"] == "dev"),
              "test": sorted(it["id"] for it in items if it["split"] == "test")}
    with open(HERE / "splits.json", "w") as fh:
        fh.write('{"rule": ' + json.dumps(splits["rule"]) + ',\n')
        for name in ("dev", "test"):
            fh.write(f'"{name}": [\n' + ",\n".join(json.dumps(i) for i in splits[name]) + "\n]"
                     + (",\n" if name == "dev" else "}\n"))
    sizes: dict = {}
    for it in items:
        sizes.setdefault(it["set"], {"dev": 0, "test": 0})[it["split"]] += 1
    print("| set | dev | test | all |\n|---|---:|---:|---:|")
    for name, s in sizes.items():
        print(f"| {name} | {s['dev']} | {s['test']} | {s['dev'] + s['test']} |")
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
