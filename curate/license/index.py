"""ScanCode's license rules as a compact exact-match index (built once, cached on disk).

Data: the `licensedcode-data` package (ScanCode LicenseDB rules and license texts, CC-BY-4.0, nexB Inc. and
others; see curate/data/license/NOTICE.md), read offline from site-packages. Its version is recorded in the
index and in every cache file name, so a new data release builds a new index.

Tokens follow the usual license-matching normalisation: lower case, runs of letters and digits, a trailing
"+" kept on the word it follows ("2.0+" -> "2", "0+", so "GPL-2.0+" and "GPL-2.0" stay apart); HTML tags and
entities, punctuation, comment markers and ScanCode's `{{required phrase}}` braces are dropped.

Each rule becomes a byte string of 3-byte token ids; a document becomes the same, so an exact match of a
rule at token `i` is `doc.startswith(rule, 3 * i)` (C speed). Rules are found through a dict keyed on their
first `KEY_TOKENS` tokens (shorter rules through dicts on their whole token string).

Build: about 10-20 s on one core for ~35k rules; the result is pickled under `$CURATE_CACHE` (default
`~/.cache/curate`) and loads in well under a second.
"""
from __future__ import annotations

import pickle
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from curate import user_cache

INDEX_FORMAT = 8
KEY_TOKENS = 3
# ScanCode's generic licenses that still say something definite (the rest, e.g. "other-permissive",
# "proprietary-license", "unknown-license-reference", name no license and never count as a match)
PUBLIC_DOMAIN_KEYS = frozenset({"public-domain", "public-domain-disclaimer", "us-govt-public-domain"})
TOKEN_BYTES = 3

# ScanCode-like word pattern: letters/digits with an optional "+" inside or at the end of the word.
WORD = re.compile(r"[^_\W]+\+?[^_\W]*")
# Markup that is skipped whole, then words. Used on documents (rules use WORD on their plain text).
DOC_TOKEN = re.compile(r"<[^<>]{0,300}>|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});|[^_\W]+\+?[^_\W]*")


def fold(word: str) -> str:
    """Lower-case and strip accents from one word."""
    word = word.lower()
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())


def rule_tokens(text: str) -> list[str]:
    """Tokens of a rule or license text (ScanCode's `{{ }}` markers and punctuation dropped)."""
    return [fold(w) for w in WORD.findall(text)]


@dataclass(frozen=True)
class Rule:
    """One ScanCode rule or license text, as indexed."""

    identifier: str  # file name without extension, e.g. "gpl-2.0-plus_12" or "mit" (a license text)
    expression: str  # ScanCode license expression (ScanCode keys)
    kind: str  # license-text | notice | reference | tag | intro | clue | false-positive
    length: int  # tokens
    relevance: int
    minimum_coverage: int
    is_continuous: bool
    # token ranges of {{required phrases}} (kept for reference: an exact match contains them all)
    required: tuple[tuple[int, int], ...] = ()
    title: int = 0  # tokens of the text's title line ("Mozilla Public License Version 2.0"), 0 if none


_RULE_FIELDS = tuple(Rule.__dataclass_fields__)


class RuleTable:
    """The rules as plain tuples (they unpickle 8x faster than 36k dataclass objects, which every worker
    process pays), each turned into a `Rule` when first read."""

    def __init__(self, rules: list[Rule]):
        self._rows = [astuple_shallow(r) for r in rules]
        self._made: dict[int, Rule] = {}

    def __getstate__(self):
        return self._rows

    def __setstate__(self, rows):
        self._rows, self._made = rows, {}

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> Rule:
        rule = self._made.get(i)
        if rule is None:
            rule = self._made[i] = Rule(*self._rows[i])
        return rule

    def __iter__(self):
        return (self[i] for i in range(len(self._rows)))

    def column(self, name: str) -> list:
        """One field of every rule, without making the Rule objects."""
        k = _RULE_FIELDS.index(name)
        return [row[k] for row in self._rows]


def astuple_shallow(rule: Rule) -> tuple:
    return tuple(getattr(rule, f) for f in _RULE_FIELDS)


@dataclass
class LicenseInfo:
    key: str
    spdx: str
    category: str
    name: str
    is_exception: bool
    is_deprecated: bool
    is_unknown: bool = False  # ScanCode's unknown / generic licenses ("unknown-license-reference")


@dataclass
class Index:
    data_version: str
    vocab: dict[str, int]
    rules: RuleTable  # Rule by id
    codes: list[bytes]  # token-id bytes per rule
    by_key: dict[bytes, list[int]]  # first KEY_TOKENS tokens -> rule ids, longest first
    short: dict[bytes, list[int]]  # whole token string of rules shorter than KEY_TOKENS -> rule ids
    licenses: dict[str, LicenseInfo]


def data_dir() -> Path:
    """The `licensedcode/data` directory of the installed licensedcode-data distribution (located through
    its metadata, so that another package named `licensedcode`, e.g. scancode-toolkit's, is not used)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution("licensedcode-data").locate_file("licensedcode/data")))
    except PackageNotFoundError as exc:
        raise RuntimeError("curate.license needs the licensedcode-data package (pip install licensedcode-data)") \
            from exc
    if not (path / "rules").is_dir():
        raise RuntimeError(f"licensedcode-data is installed but {path / 'rules'} is missing")
    return path


@lru_cache(maxsize=1)
def data_version() -> str:
    try:
        from importlib.metadata import version

        return "licensedcode-data-" + version("licensedcode-data")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "licensedcode-data-unknown"


def _frontmatter(raw: str) -> tuple[dict[str, str], str]:
    """Top-level `key: value` pairs of the YAML front matter, and the text after it."""
    if not raw.startswith("---"):
        return {}, raw
    end = raw.find("\n---", 3)
    if end < 0:
        return {}, raw
    meta: dict[str, str] = {}
    for line in raw[3:end].splitlines():
        if not line or line[0] in " \t-#":
            continue
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[a-z_]+", key):
            meta[key] = value.strip().strip("'\"")
    body = raw[end + 4:]
    return meta, body[1:] if body.startswith("\n") else body


def _kind(meta: dict[str, str]) -> str:
    if meta.get("is_false_positive") == "yes":
        return "false-positive"
    for flag, kind in (("is_license_text", "license-text"), ("is_license_notice", "notice"),
                       ("is_license_reference", "reference"), ("is_license_tag", "tag"),
                       ("is_license_intro", "intro"), ("is_license_clue", "clue")):
        if meta.get(flag) == "yes":
            return kind
    return "notice"


_REQUIRED = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def _required_ranges(body: str) -> tuple[tuple[int, int], ...]:
    out = []
    for m in _REQUIRED.finditer(body):
        start = len(WORD.findall(body[: m.start()]))
        n = len(WORD.findall(m.group(1)))
        if n:
            out.append((start, start + n))
    return tuple(out)


def _title_tokens(body: str) -> int:
    """Tokens of a license text's first line when it is a title (names a license, at most 10 tokens)."""
    first = next((line for line in body.splitlines() if len(rule_tokens(line)) >= 2), "")
    words = rule_tokens(first)
    return len(words) if len(words) <= 10 and any(w.startswith(("licen", "lizenz")) for w in words) else 0


def _encode(ids: list[int]) -> bytes:
    return b"".join(i.to_bytes(TOKEN_BYTES, "big") for i in ids)


def build(directory: Path | None = None) -> Index:
    """Read every license and rule of licensedcode-data and build the index (slow: seconds)."""
    directory = directory or data_dir()
    licenses: dict[str, LicenseInfo] = {}
    entries: list[tuple[str, dict[str, str], str]] = []
    for path in sorted((directory / "licenses").glob("*.LICENSE")):
        meta, body = _frontmatter(path.read_text(encoding="utf-8", errors="replace"))
        key = meta.get("key") or path.stem
        deprecated = meta.get("is_deprecated") == "yes"
        licenses[key] = LicenseInfo(key, meta.get("spdx_license_key") or f"LicenseRef-scancode-{key}",
                                    meta.get("category", ""), meta.get("name", key),
                                    meta.get("is_exception") == "yes", deprecated,
                                    (meta.get("is_unknown") == "yes" or meta.get("is_generic") == "yes"
                                     or key.startswith("unknown")) and key not in PUBLIC_DOMAIN_KEYS)
        if body.strip() and not deprecated and meta.get("is_unknown") != "yes" \
                and meta.get("is_generic") != "yes":
            entries.append((key, {"license_expression": key, "is_license_text": "yes", "relevance": "100",
                                  "minimum_coverage": meta.get("minimum_coverage", "0")}, body))
    for path in sorted((directory / "rules").glob("*.RULE")):
        meta, body = _frontmatter(path.read_text(encoding="utf-8", errors="replace"))
        if meta.get("is_deprecated") == "yes":
            continue
        entries.append((path.stem, meta, body))

    vocab: dict[str, int] = {}
    rules: list[Rule] = []
    codes: list[bytes] = []
    by_key: dict[bytes, list[int]] = {}
    short: dict[bytes, list[int]] = {}
    for identifier, meta, body in entries:
        expression = meta.get("license_expression", "")
        kind = _kind(meta)
        if not expression and kind != "false-positive":
            continue
        tokens = rule_tokens(body)
        if not tokens:
            continue
        ids = [vocab.setdefault(t, len(vocab) + 1) for t in tokens]
        code = _encode(ids)
        rid = len(rules)
        rules.append(Rule(identifier, expression, kind, len(ids), int(meta.get("relevance") or 100),
                          int(float(meta.get("minimum_coverage") or 0)), meta.get("is_continuous") == "yes",
                          _required_ranges(body), _title_tokens(body) if kind == "license-text" else 0))
        codes.append(code)
        if len(ids) >= KEY_TOKENS:
            by_key.setdefault(code[: KEY_TOKENS * TOKEN_BYTES], []).append(rid)
        else:
            short.setdefault(code, []).append(rid)
    for table in (by_key, short):
        for rids in table.values():
            rids.sort(key=lambda r: -rules[r].length)
    return Index(data_version(), vocab, RuleTable(rules), codes, by_key, short, licenses)


def cache_dir() -> Path:
    return user_cache.cache_dir()


def cache_path() -> Path:
    return cache_dir() / f"license-index-{data_version()}-f{INDEX_FORMAT}.pickle"


@lru_cache(maxsize=1)
def load() -> Index:
    """The index, from the cache file when present (else built now and cached; atomic write)."""
    path = cache_path()
    try:
        with path.open("rb") as fh:
            index = pickle.load(fh)
        if isinstance(index, Index) and index.data_version == data_version():
            return index
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        pass
    index = build()
    try:
        user_cache.write_atomically(path, lambda fh: pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL))
        for old in path.parent.glob(f"license-index-{data_version()}-f*.pickle"):
            if old != path:  # earlier index formats of the same data
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only home: keep the index in memory only
        print(f"curate.license: cannot cache the license index at {path}: {exc}", file=sys.stderr)
    return index


def _main() -> None:
    import time

    t = time.perf_counter()
    idx = build()
    print(f"{idx.data_version}: {len(idx.licenses)} licenses, {len(idx.rules)} rules, "
          f"{len(idx.vocab)} tokens, {sum(len(c) for c in idx.codes) // TOKEN_BYTES} rule tokens, "
          f"built in {time.perf_counter() - t:.1f} s")
    load.cache_clear()
    if cache_path().exists():
        cache_path().unlink()
    t = time.perf_counter()
    load()
    print(f"cached at {cache_path()} ({cache_path().stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":  # python -m curate.license.index: build (or rebuild) the cache and print stats
    from curate.license import index as _module  # pickle the classes under their importable names

    _module._main()
