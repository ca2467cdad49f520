"""License detection, categories and the keep/drop policy.

- `detect(text) -> list[str]` and `detect_matches(text) -> list[LicenseMatch]` (detect.py; the older name
  `detect_with_evidence` is the same function)
- `category(spdx_expression) -> str` and `canonical_spdx(expression)` (categories.py)
- `LicensePolicy(...).decide(text, source_type) -> LicenseDecision` (policy.py)
"""
from curate.license.categories import CATEGORIES, canonical_spdx, category
from curate.license.detect import LicenseMatch, detect, detect_matches, detect_with_evidence
from curate.license.policy import LicenseDecision, LicensePolicy

__all__ = [
    "CATEGORIES",
    "LicenseDecision",
    "LicenseMatch",
    "LicensePolicy",
    "canonical_spdx",
    "category",
    "detect",
    "detect_matches",
    "detect_with_evidence",
]
