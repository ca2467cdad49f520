"""license: drop documents under a license the pipeline's policy refuses (default: web pages with an
explicit NC or ND license; code unless permissive, The Stack's rule). Evidence names the license found."""
from __future__ import annotations

from curate.blocks.base import DROPPED, CurateBlock, mark, record


class License(CurateBlock):
    name = "license"
    stage = "license"

    def __init__(self, **policy):
        super().__init__()
        self.policy_kwargs = policy

    def setup(self) -> None:
        from curate.license.policy import LicensePolicy

        self.policy = LicensePolicy(**{k: tuple(v) if isinstance(v, list) else v for k, v in self.policy_kwargs.items()})

    def process(self, doc) -> None:
        d = self.policy.decide(doc.text, doc.metadata.get("source_type", "web"))
        if d.keep:
            record(doc, "license", d.evidence)
        else:
            mark(doc, DROPPED, "license", d.reason, d.evidence)
