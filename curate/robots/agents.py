"""Lists of AI crawler user agents whose robots.txt opt-outs a run honours.

Bundled lists (``curate/data/agents/``): ``apertus`` (the agents the Apertus pipeline checks, ``*``
included) and ``ai-robots-txt`` (the ai.robots.txt project's list, MIT). Any other value is read as a path to
a file of the same format: one agent a line, ``#`` starts a comment, blank lines ignored.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["BUNDLED_LISTS", "load_agents", "parse_agent_list"]

#: Bundled list name -> data file under curate/data/agents/.
BUNDLED_LISTS: dict[str, str] = {
    "apertus": "apertus.txt",
    "ai-robots-txt": "ai_robots_txt.txt",
}


def parse_agent_list(text: str, source: str = "<text>") -> list[str]:
    """Agents from list-file text, in file order, duplicates (case-insensitive) dropped.

    Raises ValueError naming ``source`` when the list holds no agent."""
    agents: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        agent = line.split("#", 1)[0].strip()
        if agent and agent.lower() not in seen:
            seen.add(agent.lower())
            agents.append(agent)
    if not agents:
        raise ValueError(f"agent list {source} names no agent")
    return agents


def load_agents(name_or_path: str | Path = "apertus") -> list[str]:
    """Load an agent list: a bundled name (``apertus``, ``ai-robots-txt``) or a path to a list file.

    A list or tuple is taken as the agents themselves (a pipeline's ``agents: [GPTBot, CCBot]``).
    Raises ValueError for a value that is neither a bundled name nor an existing file."""
    if isinstance(name_or_path, (list, tuple)):
        return parse_agent_list("\n".join(name_or_path), source="the pipeline's agents list")
    name = str(name_or_path)
    if name in BUNDLED_LISTS:
        data = resources.files("curate").joinpath("data", "agents", BUNDLED_LISTS[name])
        return parse_agent_list(data.read_text(encoding="utf-8"), source=name)
    path = Path(name).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(BUNDLED_LISTS))
        raise ValueError(f"unknown agent list {name!r}: not a bundled list ({known}) and not a file")
    return parse_agent_list(path.read_text(encoding="utf-8"), source=str(path))
