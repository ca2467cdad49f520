"""License categories from the ScanCode license index that ships inside `license-expression`.

Our eight categories, from most to least permissive (the order is used to combine expressions):

    public-domain < permissive < weak-copyleft < copyleft < no-derivatives < non-commercial
                  < proprietary < unknown

ScanCode categories map as follows (`SCANCODE_TO_CATEGORY`):
- Public Domain -> public-domain; Permissive -> permissive; Copyleft Limited -> weak-copyleft;
  Copyleft -> copyleft.
- Proprietary Free, Commercial, Source-available, Free Restricted -> proprietary: all of them restrict use
  or redistribution beyond what an open license allows (Free Restricted: e.g. field-of-use limits).
- CLA, Patent License, Unstated License -> unknown: none of them is an outbound copyright license.

Explicit overrides (ScanCode files every CC NC/ND variant under "Source-available"):
- Creative Commons ids containing NC -> non-commercial, containing ND -> no-derivatives. An NC-ND license
  is categorised non-commercial: it forbids all commercial use, the broader restriction, while ND alone
  still allows verbatim commercial redistribution; both are dropped from web data by default anyway.
- CC-BY-* -> permissive; CC-BY-SA-* and CC-SA-* -> copyleft (share-alike is copyleft for content, while
  ScanCode files CC-BY-SA under Copyleft Limited); CC0, CC-PDDC, CC-PDM -> public-domain.
- `LicenseRef-All-Rights-Reserved` (our id for an explicit rights reservation) -> proprietary.

Compound expressions are parsed with license-expression: `A OR B` takes the most permissive operand (the
recipient may choose), `A AND B` the most restrictive (all terms apply). `L WITH E` takes the license's
category, relaxed to the exception's when the exception is a weaker (linking) category than a copyleft
license: `GPL-2.0-only WITH Classpath-exception-2.0` is weak-copyleft.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import license_expression
from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)

CATEGORIES: tuple[str, ...] = (
    "public-domain",
    "permissive",
    "weak-copyleft",
    "copyleft",
    "no-derivatives",
    "non-commercial",
    "proprietary",
    "unknown",
)
_RANK = {name: i for i, name in enumerate(CATEGORIES)}

SCANCODE_TO_CATEGORY: dict[str, str] = {
    "Public Domain": "public-domain",
    "Permissive": "permissive",
    "Copyleft Limited": "weak-copyleft",
    "Copyleft": "copyleft",
    "Proprietary Free": "proprietary",
    "Commercial": "proprietary",
    "Source-available": "proprietary",
    "Free Restricted": "proprietary",
    "CLA": "unknown",
    "Patent License": "unknown",
    "Unstated License": "unknown",
}

ALL_RIGHTS_RESERVED = "LicenseRef-All-Rights-Reserved"
PUBLIC_DOMAIN = "LicenseRef-scancode-public-domain"

_CC = re.compile(r"^CC-(?P<parts>(?:BY|NC|ND|SA)(?:-(?:BY|NC|ND|SA))*)-\d")


def _index_path() -> Path:
    """Location of the ScanCode index JSON vendored by license-expression."""
    locate = getattr(license_expression, "vendored_scancode_licensedb_index_location", None)
    if locate is not None:
        return Path(locate)
    return Path(license_expression.__file__).parent / "data" / "scancode-licensedb-index.json"


@lru_cache(maxsize=1)
def scancode_index() -> dict[str, str]:
    """Map every SPDX id (and alias, lower-cased) in the ScanCode index to its ScanCode category."""
    entries = json.loads(_index_path().read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for entry in entries:
        scancode_category = entry.get("category")
        if not scancode_category:
            continue
        for key in [entry.get("spdx_license_key"), *entry.get("other_spdx_license_keys", [])]:
            if key:
                table.setdefault(key.lower(), scancode_category)
    return table


@lru_cache(maxsize=1)
def _licensing():
    return get_spdx_licensing()


def _override(spdx_id: str) -> str | None:
    """Our explicit categories for Creative Commons and our own LicenseRefs (see module docstring)."""
    upper = spdx_id.upper()
    if upper == ALL_RIGHTS_RESERVED.upper():
        return "proprietary"
    if upper in ("CC0-1.0", "CC-PDDC", "CC-PDM-1.0"):
        return "public-domain"
    match = _CC.match(upper)
    if match:
        parts = set(match.group("parts").split("-"))
        if "NC" in parts:
            return "non-commercial"
        if "ND" in parts:
            return "no-derivatives"
        if "SA" in parts:
            return "copyleft"
        return "permissive"
    return None


@lru_cache(maxsize=1)
def _licensedb_categories() -> dict[str, str]:
    """SPDX key (lower case) -> ScanCode category from licensedcode-data, for ids that the index inside
    license-expression does not list (the two data releases differ)."""
    from curate.license import index as _index

    return {info.spdx.lower(): info.category for info in _index.load().licenses.values() if info.category}


def _symbol_category(key: str) -> str:
    override = _override(key)
    if override:
        return override
    scancode_category = scancode_index().get(key.lower()) or _licensedb_categories().get(key.lower())
    return SCANCODE_TO_CATEGORY.get(scancode_category, "unknown") if scancode_category else "unknown"


def most_permissive(categories: list[str]) -> str:
    """The most permissive of several categories (an OR choice)."""
    return min(categories, key=_RANK.__getitem__)


def most_restrictive(categories: list[str]) -> str:
    """The most restrictive of several categories (all terms apply)."""
    return max(categories, key=_RANK.__getitem__)


def _expression_category(node) -> str:
    if isinstance(node, LicenseWithExceptionSymbol):
        base = _symbol_category(node.license_symbol.key)
        exception = _symbol_category(node.exception_symbol.key)
        if base == "copyleft" and _RANK.get(exception, 99) < _RANK[base]:
            return exception
        return base
    if isinstance(node, LicenseSymbol):
        return _symbol_category(node.key)
    children = [_expression_category(arg) for arg in node.args]
    operator = node.operator.strip().upper()
    return most_permissive(children) if operator == "OR" else most_restrictive(children)


@lru_cache(maxsize=4096)  # (a ValueError is not cached: raised again each time)
def canonical_spdx(expression: str) -> str:
    """Normalise an SPDX id or expression ("GPL-2.0" -> "GPL-2.0-only", "mit" -> "MIT").

    Raises ValueError on an expression that does not parse.
    """
    if not expression or not expression.strip():
        raise ValueError("empty SPDX expression")
    try:
        return str(_licensing().parse(expression))
    except ExpressionError as exc:
        raise ValueError(f"invalid SPDX expression {expression!r}: {exc}") from exc


@lru_cache(maxsize=4096)
def category(spdx_id: str) -> str:
    """Category of an SPDX id or compound expression, one of `CATEGORIES`.

    Unknown ids give "unknown"; a malformed expression raises ValueError.
    """
    if not spdx_id or not spdx_id.strip():
        raise ValueError("empty SPDX expression")
    try:
        parsed = _licensing().parse(spdx_id)
    except ExpressionError as exc:
        raise ValueError(f"invalid SPDX expression {spdx_id!r}: {exc}") from exc
    if parsed is None:
        raise ValueError(f"invalid SPDX expression {spdx_id!r}")
    return _expression_category(parsed)


def rank(category_name: str) -> int:
    """Position of a category from most permissive (0) to unknown (7)."""
    return _RANK[category_name]
