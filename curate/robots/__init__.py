"""robots.txt opt-outs: an RFC 9309 matcher that decides as Google's reference parser, and AI agent lists."""
from curate.robots.agents import load_agents
from curate.robots.matcher import Block, Decision, RobotsTxt, is_allowed

__all__ = ["Block", "Decision", "RobotsTxt", "is_allowed", "load_agents"]
