"""optout: drop what a site's robots.txt refuses to AI crawlers, for every crawl year.

The decision comes from `curate.robots.policy.OptoutPolicy` over the time-stamped robots cache; the
manifest detail carries its evidence (blocking agents, group, rule and line, robots.txt sha256, fetch
time, policy).
"""
from __future__ import annotations

from curate.blocks.base import DROPPED, CurateBlock, mark, record


class Optout(CurateBlock):
    name = "optout"
    stage = "optout"

    def __init__(self, cache: str, agents: str = "apertus", policy: str = "retroactive", star: bool = True,
                 granularity: str = "url", registered_domain_fallback: bool = False, status_rules: dict | None = None):
        super().__init__()
        self.cache_dir = cache
        self.agents = agents
        self.policy_name = policy
        self.star = star
        self.granularity = granularity
        self.registered_domain_fallback = registered_domain_fallback
        self.status_rules = status_rules

    def setup(self) -> None:
        from curate.robots.agents import load_agents
        from curate.robots.cache import RobotsCache
        from curate.robots.policy import OptoutPolicy

        cache = RobotsCache(self.cache_dir)
        cache.load()
        self.policy = OptoutPolicy(cache, load_agents(self.agents), policy=self.policy_name, star=self.star,
                                   granularity=self.granularity,
                                   registered_domain_fallback=self.registered_domain_fallback,
                                   status_rules=self.status_rules)

    def process(self, doc) -> None:
        d = self.policy.decide(doc.metadata["url"], doc.metadata.get("date"))
        if d.allowed:
            record(doc, "optout", d.evidence)
        else:
            mark(doc, DROPPED, "optout", d.reason or "optout.robots", d.evidence)
