"""Keep/drop decisions from detected licenses, with evidence for the manifest.

Defaults follow Apertus and The Stack (see REFERENCE.md):
- Web pages: no per-document license filter, except that a page carrying an explicit non-commercial (NC)
  or no-derivatives (ND) license is dropped (`web_drop`). Any other page is kept, including one with an
  explicit "All rights reserved": the reservation is recorded in the evidence but does not drop the page
  unless `web_drop_rights_reserved=True`.
- Code: kept only when a license is found and it is permissive or public-domain (`code_keep`), The Stack's
  permissive-subset rule, applied to SPDX expressions: `A OR B` is kept when either branch is allowed (the
  recipient may choose), `A AND B` only when both are, `L WITH exception` by the license as relaxed by the
  exception (see curate.license.categories). Code with no license at all is dropped with `license.none_found`. When several
  licenses are found in one file they are combined like `AND` (the most restrictive decides), because all
  of them may apply. A bare "All rights reserved" next to a real license is the usual copyright line and is
  ignored for code; on its own it counts as a proprietary license (`license.not_permissive`).

Reasons are dotted codes: `license.non_commercial`, `license.no_derivatives`, `license.all_rights_reserved`
(web, only when configured), `license.not_permissive`, `license.none_found`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from curate.license.categories import CATEGORIES, rank
from curate.license.detect import LicenseMatch, detect_matches

SOURCE_TYPES = ("web", "code")
MAX_EVIDENCE_MATCHES = 10


@dataclass(frozen=True)
class LicenseDecision:
    """Outcome of `LicensePolicy.decide` for one document."""

    keep: bool
    reason: str | None
    license: str | None
    category: str | None
    evidence: dict[str, Any] = field(default_factory=dict)


def _evidence(deciding: LicenseMatch | None, matches: list[LicenseMatch]) -> dict[str, Any]:
    """Manifest evidence: the deciding match (license, its rule, snippet, span, score), the expression that
    combines every license found (AND: all of them apply), and up to MAX_EVIDENCE_MATCHES matches."""
    out: dict[str, Any] = {"matches": [m.to_dict() for m in matches[:MAX_EVIDENCE_MATCHES]]}
    licenses = [m.spdx for m in matches if m.kind != "rights-reserved"]
    if licenses:
        out["expression"] = " AND ".join(f"({s})" if " " in s else s for s in licenses)
    if deciding is not None:
        out.update(license=deciding.spdx, category=deciding.category, kind=deciding.kind, rule=deciding.rule,
                   snippet=deciding.evidence, start=deciding.start, end=deciding.end, score=deciding.score)
    return out


def _reason(category_name: str) -> str:
    return "license." + category_name.replace("-", "_")


@dataclass(frozen=True)
class LicensePolicy:
    """License rules for web pages and code files (defaults documented in the module docstring)."""

    web_drop: tuple[str, ...] = ("non-commercial", "no-derivatives")
    code_keep: tuple[str, ...] = ("permissive", "public-domain")
    web_drop_rights_reserved: bool = False

    def __post_init__(self) -> None:
        for name, values in (("web_drop", self.web_drop), ("code_keep", self.code_keep)):
            unknown = [v for v in values if v not in CATEGORIES]
            if unknown:
                raise ValueError(f"LicensePolicy.{name}: unknown categories {unknown}; expected {CATEGORIES}")

    def decide(self, text: str, source_type: str) -> LicenseDecision:
        """Keep or drop one document of `source_type` ("web" or "code") by the licenses found in `text`."""
        if source_type not in SOURCE_TYPES:
            raise ValueError(f"source_type must be one of {SOURCE_TYPES}, got {source_type!r}")
        matches = detect_matches(text)
        return self._decide_web(matches) if source_type == "web" else self._decide_code(matches)

    def _decide_web(self, matches: list[LicenseMatch]) -> LicenseDecision:
        for m in matches:
            if m.category in self.web_drop and m.kind != "rights-reserved":
                return LicenseDecision(False, _reason(m.category), m.spdx, m.category, _evidence(m, matches))
        reserved = next((m for m in matches if m.kind == "rights-reserved"), None)
        if reserved is not None and self.web_drop_rights_reserved:
            return LicenseDecision(False, "license.all_rights_reserved", reserved.spdx, reserved.category,
                                   _evidence(reserved, matches))
        best = matches[0] if matches else None
        return LicenseDecision(True, None, best.spdx if best else None, best.category if best else None,
                               _evidence(best, matches))

    def _decide_code(self, matches: list[LicenseMatch]) -> LicenseDecision:
        licenses = [m for m in matches if m.kind != "rights-reserved"] or matches
        if not licenses:
            return LicenseDecision(False, "license.none_found", None, None, _evidence(None, matches))
        deciding = max(licenses, key=lambda m: rank(m.category))  # AND: the most restrictive decides
        if deciding.category in self.code_keep:
            best = licenses[0]
            return LicenseDecision(True, None, best.spdx, deciding.category, _evidence(best, matches))
        return LicenseDecision(False, "license.not_permissive", deciding.spdx, deciding.category,
                               _evidence(deciding, matches))
