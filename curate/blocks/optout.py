"""optout: drop what a site reserves against AI use, for every crawl year.

The decision comes from `curate.robots.policy.OptoutPolicy` over the time-stamped robots cache (robots.txt
Allow/Disallow, Content-Usage and Content-Signal lines, tdmrep.json) and the page's own headers and meta
tags that the WARC reader kept (``doc.metadata["page_signals"]``); ``signals`` chooses which are honoured
(default: all five). The manifest detail carries the evidence (blocking agents, group, rule and line,
the tdmrep rule, the header or tag, robots.txt / tdmrep.json sha256 and fetch time, policy).
"""
from __future__ import annotations

from curate.blocks.base import DROPPED, CurateBlock, mark, record

PAGE_SIGNALS = "page_signals"  # doc.metadata key the WARC reader fills (curate.robots.signals)


class Optout(CurateBlock):
    name = "optout"
    stage = "optout"

    def __init__(self, cache: str, agents: str = "apertus", policy: str = "retroactive", star: bool = True,
                 granularity: str = "url", registered_domain_fallback: bool = False, status_rules: dict | None = None,
                 signals: list[str] | None = None):
        super().__init__()
        from curate.robots.policy import SIGNALS

        self.cache_dir = cache
        self.agents = agents
        self.policy_name = policy
        self.star = star
        self.granularity = granularity
        self.registered_domain_fallback = registered_domain_fallback
        self.status_rules = status_rules
        self.signals = list(SIGNALS) if signals is None else list(signals)

    def setup(self) -> None:
        from curate.robots.agents import load_agents
        from curate.robots.cache import RobotsCache
        from curate.robots.policy import OptoutPolicy

        cache = RobotsCache(self.cache_dir)
        cache.load()
        self.policy = OptoutPolicy(cache, load_agents(self.agents), policy=self.policy_name, star=self.star,
                                   granularity=self.granularity,
                                   registered_domain_fallback=self.registered_domain_fallback,
                                   status_rules=self.status_rules, signals=self.signals)

    def process(self, doc) -> None:
        meta = doc.metadata
        d = self.policy.decide(meta["url"], meta.get("date"), meta.get(PAGE_SIGNALS))
        if d.allowed:
            record(doc, "optout", d.evidence)
        else:
            mark(doc, DROPPED, "optout", d.reason or "optout.robots", d.evidence)
