"""License detection quality on external labelled sets (bench/data/license_eval), split dev/test.

    .venv/bin/python bench/license_eval.py --split dev                       # curate's detector
    .venv/bin/python bench/license_eval.py --split test --worst 10           # + the misses of each set
    .venv/bin/python bench/license_eval.py --split all --detector scancode   # anchors: run in bench/.venv-anchors
    .venv/bin/python bench/license_eval.py --split dev --json                # machine-readable

Sets (items.json, built by bench/data/license_eval/build.py; texts are read in place and hash-checked):
  full_texts       full license texts: choosealicense, licensee fixtures, Debian common-licenses, license
                   files of installed wheels (label = their METADATA License-Expression)
  full_texts_scancode  ScanCode's license texts with a real SPDX id (scancode-toolkit-mini data, read in
                   place from bench/.venv-anchors; ScanCode's own data, so ScanCode scores itself there)
  notices_debian   Debian DEP-5 copyright files, labels = their License: fields (mapped to SPDX)
  notices_source   source-file headers from installed packages, labels = ScanCode's answers (the field's
                   reference for notices; scancode_reference.json)
  neg_prose        crawl sample documents read by hand: no license statement
  neg_prose_ud     Universal Dependencies sentences concatenated to ~3.5 KB documents
  neg_mentions     text that talks about licenses without stating one (selected by keyword, read by hand)
  neg_code         source files from installed packages where ScanCode finds no license
  web_footer       crawl pages whose footer holds a rights statement (read by hand)

Metrics per set:
  top-1      the detector's first id equals the label (labels and answers normalised with license-expression,
             so deprecated ids become current ones; on full_texts only, -only/-or-later/+ of the same license
             count as equal, because a license text does not choose between them: the notice does). On notice
             sets: the first id is one of the file's labels.
  category   the file's category: everything detected combined (AND; ids in IGNORED_IDS left out unless
             nothing else was found) against the labels combined (category table below, ScanCode's index).
  id P/R/F1  micro-averaged over the set: detected license ids vs labelled ids (exceptions and the
             non-license ids in IGNORED_IDS left out on both sides); "multi" = the same on files with 2+ labels.
  keep/drop  agreement of the detector's code decision (keep only permissive/public-domain, The Stack's rule)
             with the decision computed from the labels by the same category table; for curate the decision
             is LicensePolicy().decide(text, "code").keep, for the anchors the table applied to all they found
             (A AND B: all must be allowed; OR keeps when either branch is allowed; nothing found: drop).
  false alarms  on negative sets: documents with any detection at all (any id; how many of them found only
             a rights reservation is said in brackets); "web drops" = curate's
             LicensePolicy().decide(text, "web") drops.
  kinds      curate only: documents per match kind (curate.license.detect_matches, else detect_with_evidence).
  ms/doc     CPU time per document of the detector call (process_time; curate: detect only).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench/data/license_eval"
ANCHORS_PY = REPO / "bench/.venv-anchors/bin/python"
ANCHOR_DETECTORS = ("licenseclassifier", "scancode")
# Sets whose labels are ScanCode's own answers or texts: ScanCode is not scored there (it would score itself).
SCANCODE_OWN_SETS = {"notices_source", "neg_code", "full_texts_scancode"}
SCANCODE_INDEX = (Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared")) / "corpora" /
                  "license/scancode_licensedb/scancode-licensedb-index.json")

FULL_TEXT_SETS = {"full_texts", "full_texts_scancode"}
NEGATIVE_SETS = {"neg_prose", "neg_prose_ud", "neg_mentions", "neg_code"}
SET_ORDER = ["full_texts", "full_texts_scancode", "notices_debian", "notices_source", "web_footer", "neg_prose", "neg_prose_ud",
             "neg_mentions", "neg_code"]
# Not licenses: left out of id sets on both sides (a rights reservation, ScanCode's "some license is
# referenced here" and warranty-disclaimer matches). False alarms still count every detection.
IGNORED_IDS = {"LicenseRef-All-Rights-Reserved", "LicenseRef-scancode-unknown-license-reference",
               "LicenseRef-scancode-unknown", "LicenseRef-scancode-warranty-disclaimer",
               "LicenseRef-scancode-free-unknown", "LicenseRef-scancode-unknown-spdx"}
CODE_KEEP = {"permissive", "public-domain"}
CATEGORY_RANK = ["public-domain", "permissive", "weak-copyleft", "copyleft", "no-derivatives",
                 "non-commercial", "proprietary", "unknown"]
SCANCODE_TO_CATEGORY = {
    "Public Domain": "public-domain", "Permissive": "permissive", "Copyleft Limited": "weak-copyleft",
    "Copyleft": "copyleft", "Proprietary Free": "proprietary", "Commercial": "proprietary",
    "Source-available": "proprietary", "Free Restricted": "proprietary", "CLA": "unknown",
    "Patent License": "unknown", "Unstated License": "unknown",
}


def _load_build():
    spec = importlib.util.spec_from_file_location("license_eval_build", DATA / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------------------------------
# SPDX normalisation and categories (our table, independent of the detector under test)
# --------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def licensing():
    from license_expression import get_spdx_licensing
    return get_spdx_licensing()


@lru_cache(maxsize=100_000)
def parse(expr: str):
    try:
        return licensing().parse(expr, validate=False)
    except Exception:  # noqa: BLE001 - a malformed answer counts as an unknown single id
        return None


@lru_cache(maxsize=100_000)
def ids_of(expr: str) -> tuple[str, ...]:
    """Current SPDX license ids in an expression, in order, exceptions left out."""
    tree = parse(expr)
    if tree is None:
        return (expr,)
    from license_expression import LicenseWithExceptionSymbol
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, LicenseWithExceptionSymbol):  # "L WITH E": the license only
            node = node.license_symbol
        if hasattr(node, "args") and not hasattr(node, "key"):
            for arg in node.args:
                walk(arg)
            return
        key = getattr(node, "key", str(node))
        if key not in out:
            out.append(key)

    walk(tree)
    return tuple(out)


def base_id(spdx_id: str) -> str:
    for suffix in ("-or-later", "-only", "+"):
        if spdx_id.endswith(suffix):
            return spdx_id[: -len(suffix)]
    return spdx_id


@lru_cache(maxsize=1)
def category_table() -> dict[str, str]:
    table: dict[str, str] = {}
    if SCANCODE_INDEX.exists():
        for row in json.loads(SCANCODE_INDEX.read_text()):
            cat = SCANCODE_TO_CATEGORY.get(row.get("category", ""), "unknown")
            for key in [row.get("spdx_license_key"), *row.get("other_spdx_license_keys", []),
                        "LicenseRef-scancode-" + row["license_key"]]:
                if key:
                    table.setdefault(key.lower(), cat)
    table["licenseref-all-rights-reserved"] = "proprietary"
    table["licenseref-scancode-public-domain"] = "public-domain"
    return table


def category_of_id(spdx_id: str) -> str:
    up = spdx_id.upper()
    if up.startswith("CC-") or up.startswith("CC0") or up.startswith("CC-PD"):
        parts = up.split("-")
        if up.startswith("CC0") or up.startswith("CC-PD"):
            return "public-domain"
        if "NC" in parts:
            return "non-commercial"
        if "ND" in parts:
            return "no-derivatives"
        if "SA" in parts:
            return "copyleft"
        if "BY" in parts:
            return "permissive"
    return category_table().get(spdx_id.lower(), "unknown")


def category_of(expr: str) -> str:
    """A OR B: the more permissive; A AND B: the more restrictive; L WITH E: the license's."""
    from license_expression import AND, OR, LicenseWithExceptionSymbol
    tree = parse(expr)
    if tree is None:
        return "unknown"

    def walk(node) -> int | None:
        # ids in IGNORED_IDS (not licenses: a warranty disclaimer, "a license is referenced") are neutral
        if isinstance(node, LicenseWithExceptionSymbol):
            return CATEGORY_RANK.index(category_of_id(node.license_symbol.key))
        if isinstance(node, (OR, AND)):
            ranks = [r for r in (walk(a) for a in node.args) if r is not None]
            return (min(ranks) if isinstance(node, OR) else max(ranks)) if ranks else None
        key = getattr(node, "key", str(node))
        return None if key in IGNORED_IDS else CATEGORY_RANK.index(category_of_id(key))

    rank = walk(tree)
    return CATEGORY_RANK[rank] if rank is not None else "unknown"


def code_keep_from(expressions: list[str]) -> bool:
    exprs = [e for e in expressions if set(ids_of(e)) - IGNORED_IDS]
    if not exprs:
        return False
    joined = " AND ".join(f"({e})" for e in exprs)
    return category_of(joined) in CODE_KEEP


# --------------------------------------------------------------------------------------------------
# Detectors
# --------------------------------------------------------------------------------------------------

class Curate:
    name = "curate"

    def __init__(self, at: str | None = None) -> None:
        if at:
            tree = REPO / "bench/results/tmp" / f"curate-{at}"
            if not tree.exists():
                tree.mkdir(parents=True)
                archive = subprocess.run(["git", "-C", str(REPO), "archive", at, "curate"], capture_output=True,
                                         check=True).stdout
                subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
            sys.path.insert(0, str(tree))
            for mod in [m for m in sys.modules if m == "curate" or m.startswith("curate.")]:
                del sys.modules[mod]
        import curate.license as lic
        from curate.license.policy import LicensePolicy
        self._detect = lic.detect
        self._matches = getattr(lic, "detect_matches", None) or getattr(lic, "detect_with_evidence", None)
        self._policy = LicensePolicy()
        try:
            out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h", "--", "curate/license"],
                                 capture_output=True, text=True, check=False)
            dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "curate/license"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            self.version = "curate/license @" + out.stdout.strip() + (" + uncommitted changes" if dirty else "")
            if at:
                sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", at], capture_output=True,
                                     text=True, check=False).stdout.strip()
                self.version = f"curate/license @{sha} (git archive of that commit)"
        except OSError:
            self.version = "curate/license"

    def detect(self, text: str) -> list[str]:
        return list(self._detect(text))

    def code_keep(self, text: str, found: list[str]) -> bool:
        return bool(self._policy.decide(text, "code").keep)

    def web_keep(self, text: str) -> bool:
        return bool(self._policy.decide(text, "web").keep)

    def kinds(self, text: str) -> list[str] | None:
        if self._matches is None:
            return None
        return [str(getattr(m, "kind", "?")) for m in self._matches(text)]


class LicenseClassifier:
    name = "licenseclassifier"

    def __init__(self) -> None:
        import importlib.metadata as md
        import licenseclassifier
        self._identify = licenseclassifier.identify_license
        self.version = "licenseclassifier " + md.version("licenseclassifier") + " (default coverage threshold)"

    def detect(self, text: str) -> list[str]:
        results = self._identify(text)
        # best first: the id covering most characters
        cover: dict[str, int] = {}
        for r in results:
            cover[r.id] = cover.get(r.id, 0) + (r.end - r.start)
        return sorted(cover, key=lambda k: -cover[k])

    def code_keep(self, text: str, found: list[str]) -> bool:
        return code_keep_from(found)

    web_keep = None
    kinds = None


class ScanCode:
    name = "scancode"

    def __init__(self) -> None:
        import importlib.metadata as md
        from licensedcode import cache
        from licensedcode.detection import detect_licenses
        self._index = cache.get_index()
        self._licensing = cache.get_licensing()
        self._spdx = cache.build_spdx_license_expression
        self._detect = detect_licenses
        self.version = "scancode-toolkit-mini " + md.version("scancode-toolkit-mini") + " (full matching)"

    def detect(self, text: str) -> list[str]:
        if not text.strip():
            return []
        score: dict[str, int] = {}
        for det in self._detect(index=self._index, query_string=text):
            if not det.license_expression:
                continue
            spdx = self._spdx(det.license_expression, licensing=self._licensing)
            size = sum(getattr(m, "len", lambda: 1)() for m in det.matches)
            score[spdx] = score.get(spdx, 0) + size
        return sorted(score, key=lambda k: -score[k])  # best first: most matched tokens

    def code_keep(self, text: str, found: list[str]) -> bool:
        return code_keep_from(found)

    web_keep = None
    kinds = None


class Cached:
    """Anchor answers cached by (detector version, text sha256) in bench/results/tmp/ (ignored by git):
    ScanCode's full matching takes seconds per license text, so reruns reuse what was computed."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.version = inner, inner.name, inner.version
        self.web_keep, self.kinds = None, None
        self.path = REPO / "bench/results/tmp" / f"license_eval_cache_{inner.name}.json"
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.cache = data.get(self.version, {})
        self.all = data
        self.hits = 0

    def detect(self, text: str) -> list[str]:
        import hashlib
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if key in self.cache:
            self.hits += 1
            return self.cache[key]
        out = self.inner.detect(text)
        self.cache[key] = out
        self.new = getattr(self, "new", 0) + 1
        if self.new % 20 == 0:  # checkpoint: a run cut short keeps what it computed
            self.save()
        return out

    def code_keep(self, text: str, found: list[str]) -> bool:
        return code_keep_from(found)

    def save(self) -> None:
        self.all[self.version] = self.cache
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.all))


DETECTORS = {"curate": Curate, "licenseclassifier": LicenseClassifier, "scancode": ScanCode}


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------

def load_items(split: str, sets: list[str] | None = None) -> tuple[list[tuple[dict, str]], list[str]]:
    build = _load_build()
    meta = json.loads((DATA / "items.json").read_text())
    splits = json.loads((DATA / "splits.json").read_text())
    member = set(splits["dev"]) | set(splits["test"]) if split == "all" else set(splits[split])
    out, problems = [], []
    for it in meta["items"]:
        if it["id"] not in member or (sets and it["set"] not in sets):
            continue
        try:
            text = build.text_of(it)
        except (OSError, KeyError, IndexError, ImportError) as exc:
            problems.append(f"absent: {it['id']} ({exc.__class__.__name__})")
            continue
        if build.sha(text) != it["sha256"]:
            problems.append(f"changed since labelled (sha256 differs), skipped: {it['id']}")
            continue
        out.append((it, text))
    return out, problems


def expected_ids(item: dict) -> set[str]:
    return set(ids_of(item["expected"])) - IGNORED_IDS if item.get("expected") else set()


def same_id(got: str, want: str, full_text: bool) -> bool:
    return base_id(got) == base_id(want) if full_text else got == want


def evaluate(detector, items: list[tuple[dict, str]], worst: int = 0) -> dict:
    per_set: dict[str, dict] = {}
    for it, text in items:
        s = per_set.setdefault(it["set"], {"n": 0, "top1": 0, "top1_n": 0, "cat": 0, "tp": 0, "fp": 0, "fn": 0,
                                           "mtp": 0, "mfp": 0, "mfn": 0, "multi_n": 0, "agree": 0,
                                           "alarms": 0, "web_drops": 0, "cpu": 0.0, "kinds": {}, "misses": []})
        t0 = time.process_time()
        error = None
        try:
            found = detector.detect(text)
        except Exception as exc:  # noqa: BLE001 - a crash counts as "found nothing" and is reported
            found, error = [], f"{exc.__class__.__name__}: {str(exc)[:120]}"
            s["errors"] = s.get("errors", 0) + 1
            s.setdefault("error_items", []).append(f"`{it['id']}` {error}")
        s["cpu"] += time.process_time() - t0
        s["n"] += 1
        found_ids: list[str] = []
        for expr in found:
            for i in ids_of(expr):
                if i not in found_ids:
                    found_ids.append(i)
        want = expected_ids(it)
        full = it["set"] in FULL_TEXT_SETS
        miss = None
        if it.get("expected"):
            s["top1_n"] += 1
            first = next((i for i in found_ids if i not in IGNORED_IDS), found_ids[0] if found_ids else None)
            want_top = want or set(ids_of(it["expected"]))  # a label that is only a rights reservation
            ok = first is not None and any(same_id(first, w, full) for w in want_top)
            s["top1"] += ok
            # category of the file: all that was found combined (AND), against the labels combined
            kept = [e for e in found if set(ids_of(e)) - IGNORED_IDS] or found
            got_cat = category_of(" AND ".join(f"({e})" for e in kept)) if kept else None
            s["cat"] += got_cat == category_of(it["expected"])
            if not ok:
                miss = f"`{it['id']}` expected `{it['expected']}`, got `{found[:4]}`"
            got = set(found_ids) - IGNORED_IDS
            if full:  # -only/-or-later equivalence for full texts
                got = {next((w for w in want if same_id(g, w, True)), g) for g in got}
            tp, fp, fn = len(got & want), len(got - want), len(want - got)
            s["tp"] += tp; s["fp"] += fp; s["fn"] += fn  # noqa: E702
            if len(want) >= 2:
                s["multi_n"] += 1
                s["mtp"] += tp; s["mfp"] += fp; s["mfn"] += fn  # noqa: E702
            keep_want = category_of(it["expected"]) in CODE_KEEP
        else:
            keep_want = False
            if found:
                s["alarms"] += 1
                s["alarms_rr"] = s.get("alarms_rr", 0) + (set(found_ids) <= {"LicenseRef-All-Rights-Reserved"})
                miss = f"`{it['id']}` false alarm: `{found[:4]}`"
        try:
            keep = detector.code_keep(text, found)
        except Exception as exc:  # noqa: BLE001
            keep = False
            if error is None:
                s["errors"] = s.get("errors", 0) + 1
                s.setdefault("error_items", []).append(f"`{it['id']}` policy {exc.__class__.__name__}: {str(exc)[:120]}")
        s["agree"] += keep == keep_want
        if keep != keep_want and miss is None:
            miss = f"`{it['id']}` code decision {'keep' if keep else 'drop'} (labels say " \
                   f"{'keep' if keep_want else 'drop'}), expected `{it.get('expected')}`, got `{found[:4]}`"
        try:
            if detector.web_keep is not None and not it.get("expected"):
                s["web_drops"] += not detector.web_keep(text)
            if detector.kinds is not None:
                for k in set(detector.kinds(text) or []):
                    s["kinds"][k] = s["kinds"].get(k, 0) + 1
        except Exception:  # noqa: BLE001 - already counted above when detect() itself failed
            pass
        if miss and len(s["misses"]) < max(worst, 0):
            s["misses"].append(miss)
    results = {}
    for name in sorted(per_set, key=lambda k: SET_ORDER.index(k) if k in SET_ORDER else 99):
        s = per_set[name]
        p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else None
        r = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else None
        f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        mp = s["mtp"] / (s["mtp"] + s["mfp"]) if s["mtp"] + s["mfp"] else None
        mr = s["mtp"] / (s["mtp"] + s["mfn"]) if s["mtp"] + s["mfn"] else None
        mf = 2 * mp * mr / (mp + mr) if mp and mr else (0.0 if mp is not None and mr is not None else None)
        results[name] = {
            "n": s["n"], "labelled": s["top1_n"],
            "top1": s["top1"] / s["top1_n"] if s["top1_n"] else None,
            "category": s["cat"] / s["top1_n"] if s["top1_n"] else None,
            "id_precision": p, "id_recall": r, "id_f1": f,
            "multi_n": s["multi_n"], "multi_precision": mp, "multi_recall": mr, "multi_f1": mf,
            "keep_drop_agreement": s["agree"] / s["n"],
            "false_alarms": s["alarms"] if name in NEGATIVE_SETS else None,
            "false_alarms_rights_reserved_only": s.get("alarms_rr", 0) if name in NEGATIVE_SETS else None,
            "web_drops": s["web_drops"] if name in NEGATIVE_SETS and detector.web_keep is not None else None,
            "ms_per_doc": 1000 * s["cpu"] / s["n"],
            "kinds": s["kinds"] or None, "misses": s["misses"],
            "errors": s.get("errors", 0), "error_items": s.get("error_items", []),
        }
    return results


def fmt(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(name: str, version: str, split: str, results: dict, problems: list[str]) -> str:
    lines = [f"detector: **{name}** ({version}), split: **{split}**", "",
             "| set | docs | top-1 | category | id P | id R | id F1 | multi F1 (files) | keep/drop agree | "
             "false alarms | ms/doc |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for set_name, r in results.items():
        fa = "-" if r["false_alarms"] is None else f"{r['false_alarms']}/{r['n']}"
        if r["false_alarms"] and r.get("false_alarms_rights_reserved_only"):
            fa += f" ({r['false_alarms_rights_reserved_only']} only 'All rights reserved')"
        if r["web_drops"] is not None:
            fa += f" (web drops {r['web_drops']})"
        multi = "-" if not r["multi_n"] else f"{fmt(r['multi_f1'])} ({r['multi_n']})"
        lines.append(f"| {set_name} | {r['n']} | {fmt(r['top1'])} | {fmt(r['category'])} | "
                     f"{fmt(r['id_precision'])} | {fmt(r['id_recall'])} | {fmt(r['id_f1'])} | {multi} | "
                     f"{fmt(r['keep_drop_agreement'])} | {fa} | {fmt(r['ms_per_doc'], 3)} |")
    kinds = {k: r["kinds"] for k, r in results.items() if r.get("kinds")}
    if kinds:
        lines += ["", "match kinds (documents with at least one match of the kind): " +
                  "; ".join(f"{k}: {v}" for k, v in kinds.items())]
    errors = [(k, r["error_items"]) for k, r in results.items() if r.get("errors")]
    if errors:
        lines += ["", "**detector errors** (counted as nothing found; " +
                  ", ".join(f"{k}: {len(e)}" for k, e in errors) + "):"]
        for k, es in errors:
            lines += [f"- {k}: {e}" for e in es[:5]]
    misses = [(k, r["misses"]) for k, r in results.items() if r["misses"]]
    if misses:
        lines += ["", "misses (first per set):"]
        for k, ms in misses:
            lines += [f"- {k}: {m}" for m in ms]
    if problems:
        lines += ["", "notes: " + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")]
    return "\n".join(lines)


def run_in_anchors(argv: list[str]) -> int:
    if not ANCHORS_PY.exists():
        print(f"skipped: the anchors venv {ANCHORS_PY.parent.parent} is absent; install it with "
              "`bash bench/license_anchors.sh`", file=sys.stderr)
        return 3
    return subprocess.run([str(ANCHORS_PY), str(Path(__file__).resolve()), *argv]).returncode


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    parser.add_argument("--detector", choices=tuple(DETECTORS), default="curate")
    parser.add_argument("--sets", nargs="*", help="only these sets")
    parser.add_argument("--at", metavar="COMMIT", help="curate only: evaluate the detector of this commit "
                        "(git archive into bench/results/tmp/), not the working tree")
    parser.add_argument("--worst", type=int, default=0, help="list up to N misses per set")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument("--no-cache", action="store_true", help="anchors: do not reuse cached answers")
    args = parser.parse_args(argv)
    if not (DATA / "items.json").exists():
        print(f"skipped: {DATA / 'items.json'} is absent (run bench/data/license_eval/build.py)")
        return 0
    if args.detector in ANCHOR_DETECTORS and Path(sys.prefix).resolve() != ANCHORS_PY.parent.parent.resolve():
        return run_in_anchors(argv)
    items, problems = load_items(args.split, args.sets)
    if args.detector == "scancode" and not args.sets:
        items = [(it, t) for it, t in items if it["set"] not in SCANCODE_OWN_SETS]
        problems.append("ScanCode not scored on " + ", ".join(sorted(SCANCODE_OWN_SETS)) +
                        " (its own answers/texts are the labels there); --sets to force")
    if not items:
        print("skipped: no evaluation item could be read (../shared/corpora absent?)")
        for p in problems[:5]:
            print("  " + p)
        return 0
    if args.detector == "curate":
        detector = Curate(args.at)
    else:
        detector = DETECTORS[args.detector]()
        if not args.no_cache:
            detector = Cached(detector)
    try:
        results = evaluate(detector, items, args.worst)
    finally:
        if isinstance(detector, Cached):
            detector.save()
    if isinstance(detector, Cached) and detector.hits:
        problems.append(f"note: {detector.hits} answers from the cache {detector.path.name} "
                        "(ms/doc then undercounts; --no-cache to time)")
    if args.json:
        print(json.dumps({"detector": detector.name, "version": detector.version, "split": args.split,
                          "results": results, "problems": problems}, indent=1))
    else:
        print(markdown(detector.name, detector.version, args.split, results, problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
