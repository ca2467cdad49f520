"""Opt-out signals carried by the page itself: HTTP response headers and HTML ``<head>`` meta tags.

Capture (the WARC reader calls these; the result travels in ``doc.metadata["page_signals"]``):
- `capture_headers`: the values of ``x-robots-tag``, ``tdm-reservation``, ``tdm-policy`` and
  ``content-usage``, at most `MAX_VALUES` per header and `MAX_VALUE_CHARS` characters each; how many were
  left out is counted (``dropped``), never silently lost.
- `scan_meta`: the ``<meta name=... content=...>`` tags named ``robots``, ``tdm-reservation``,
  ``tdm-policy``, or any other name (an agent, ``<meta name="GPTBot" content="noai">``) whose content holds
  a noai token, found by a bounded regex scan of the first `SCAN_BYTES` of the payload (stopping at
  ``</head>``), never a full HTML parse.

Decision (`page_refusals`, called by `curate.robots.policy.OptoutPolicy.decide`):
- ``noai``: ``X-Robots-Tag: noai`` / ``noimageai`` / ``noml`` (comma-separated, case-insensitive; an
  agent-prefixed value ``X-Robots-Tag: GPTBot: noai`` applies only when that agent is in the run's list) and
  the same tokens in ``<meta name="robots">`` (or a meta named after a listed agent). ``noarchive``,
  ``index``, ``nofollow`` and the like are not opt-outs from AI use and are ignored.
- ``tdmrep``: ``tdm-reservation`` header and meta values (``1`` / ``0``; anything else an error, unset).
  Precedence (W3C TDMRep): the well-known file, then the header overrides it, then the meta overrides the
  header; absence never resets. Several values at one level combine restrictively (any 1 wins).
- ``aipref``: ``Content-Usage`` header values, each an RFC 9651 dictionary; ``train-ai=n`` in any of them
  refuses (AIPREF: combining statements, any n wins). A malformed value is ignored and reported.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from curate.robots.matcher import Token, extract_agent, parse_sf_dictionary

__all__ = [
    "HEADERS",
    "MAX_VALUES",
    "MAX_VALUE_CHARS",
    "NOAI_TOKENS",
    "SCAN_BYTES",
    "capture_headers",
    "page_refusals",
    "scan_meta",
    "tdm_value",
]

HEADERS = ("x-robots-tag", "tdm-reservation", "tdm-policy", "content-usage")
META_NAMES = ("robots", "tdm-reservation", "tdm-policy")
NOAI_TOKENS = frozenset({"noai", "noimageai", "noml"})
MAX_VALUES = 32  # values kept per header / meta name (a header repeated 1,000 times keeps 32)
MAX_VALUE_CHARS = 512
MAX_META_NAMES = 16  # distinct agent-named metas kept
SCAN_BYTES = 64 * 1024  # the page prefix searched for meta tags
MAX_TAG_BYTES = 2048  # a meta tag longer than this is not read

_META_TAG = re.compile(rb"<meta\b([^<>]{0,%d})>" % MAX_TAG_BYTES, re.I)
_ATTR = re.compile(rb"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
_HEAD_END = re.compile(rb"</head\s*>", re.I)
_NOAI_HINT = re.compile(rb"no(?:ai|imageai|ml)\b", re.I)
# Directives of X-Robots-Tag that take a value after a colon: not an agent prefix.
_VALUED_DIRECTIVES = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_AGENT_PREFIX = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)\s*:(.*)", re.S)


# --------------------------------------------------------------------------------------------------------
# Capture
# --------------------------------------------------------------------------------------------------------
def _keep(store: dict, dropped: dict, key: str, value: str, kind: str) -> None:
    values = store.setdefault(key, [])
    if len(values) >= MAX_VALUES:
        dropped[kind] = dropped.get(kind, 0) + 1
        return
    if len(value) > MAX_VALUE_CHARS:
        dropped["cut"] = dropped.get("cut", 0) + 1
        value = value[:MAX_VALUE_CHARS]
    values.append(value)


def capture_headers(pairs: Iterable[tuple[str, str]], into: dict | None = None) -> dict:
    """The opt-out headers among ``(name, value)`` pairs, bounded (see the module docstring)."""
    out = into if into is not None else {}
    headers: dict[str, list[str]] = out.setdefault("headers", {})
    dropped: dict[str, int] = out.setdefault("dropped", {})
    for name, value in pairs:
        key = name.strip().lower() if isinstance(name, str) else ""
        if key in HEADERS:
            _keep(headers, dropped, key, str(value).strip(), "headers")
    if not headers:
        out.pop("headers")
    if not dropped:
        out.pop("dropped")
    return out


def _attrs(tag: bytes) -> dict[str, str]:
    found = {}
    for m in _ATTR.finditer(tag):
        key = m.group(1).lower().decode("ascii", "replace")
        if key not in found:
            raw = next(g for g in m.groups()[1:] if g is not None)
            found[key] = raw.decode("utf-8", "replace").strip()
    return found


def scan_meta(payload: bytes, into: dict | None = None) -> dict:
    """The opt-out meta tags in the first `SCAN_BYTES` of an HTML payload (see the module docstring).

    Records ``scanned`` (bytes looked at) so the work done is visible in the evidence."""
    out = into if into is not None else {}
    head = payload[:SCAN_BYTES]
    end = _HEAD_END.search(head)
    if end is not None:
        head = head[: end.start()]
    metas: dict[str, list[str]] = out.setdefault("meta", {})
    dropped: dict[str, int] = out.setdefault("dropped", {})
    for m in _META_TAG.finditer(head):
        body = m.group(1)
        attrs = _attrs(body)
        name, content = attrs.get("name"), attrs.get("content")
        if name is None or content is None:
            continue
        name = name.lower()
        if name in META_NAMES:
            _keep(metas, dropped, name, content, "meta")
        elif _NOAI_HINT.search(body) and extract_agent(name) == name and name:
            if name in metas or sum(1 for k in metas if k not in META_NAMES) < MAX_META_NAMES:
                _keep(metas, dropped, name, content, "meta")
            else:
                dropped["meta"] = dropped.get("meta", 0) + 1
    out["scanned"] = len(head)
    if not metas:
        out.pop("meta")
    if not dropped:
        out.pop("dropped")
    return out


# --------------------------------------------------------------------------------------------------------
# Decision
# --------------------------------------------------------------------------------------------------------
def tdm_value(values: Sequence[str] | None) -> tuple[int | None, str | None, list[str]]:
    """(1, 0 or None, the deciding value as written, errors) of one level's ``tdm-reservation`` values."""
    chosen, written, errors = None, None, []
    for raw in values or ():
        text = raw.strip()
        if text in ("1", "0"):
            if chosen is None or int(text) > chosen:  # several values at one level: any 1 wins
                chosen, written = int(text), raw
        else:
            errors.append(f"tdm-reservation {raw[:40]!r} is not 0 or 1 (counts as unset)")
    return chosen, written, errors


def _agent_names(agents: Sequence[str]) -> frozenset[str]:
    return frozenset(extract_agent(a).lower() for a in agents if extract_agent(a))


def _noai_in(value: str) -> list[str]:
    return [t for t in (p.strip().lower() for p in value.split(",")) if t in NOAI_TOKENS]


def _x_robots(value: str, names: frozenset[str]) -> tuple[list[str], str | None]:
    """(noai tokens that apply, agent prefix or None) of one X-Robots-Tag value."""
    agent = None
    m = _AGENT_PREFIX.match(value)
    if m is not None and m.group(1).lower() not in _VALUED_DIRECTIVES:
        agent, value = m.group(1), m.group(2)
        if agent.lower() not in names:
            return [], agent
    return _noai_in(value), agent


def page_refusals(page: dict | None, agents: Sequence[str], signals: Iterable[str],
                  names: frozenset[str] | None = None) -> tuple[dict[str, list[dict]], dict, list[str]]:
    """What the page's own headers and meta tags say: (refusals by signal, the tdm-reservation levels found
    as {"header": (value, written), "meta": (value, written)}, errors). Refusals are evidence dicts naming
    the header or tag."""
    refusals: dict[str, list[dict]] = {}
    levels: dict = {}
    errors: list[str] = []
    if not page:
        return refusals, levels, errors
    headers = page.get("headers") or {}
    metas = page.get("meta") or {}
    honoured = set(signals)
    if names is None:
        names = _agent_names(agents)
    if "noai" in honoured:
        found = []
        for value in headers.get("x-robots-tag") or ():
            tokens, agent = _x_robots(value, names)
            if tokens:
                found.append({"source": "header", "header": f"X-Robots-Tag: {value}", "tokens": tokens,
                              **({"agent": agent} if agent else {})})
        for name, values in metas.items():
            if name != "robots" and name not in names:
                continue
            for value in values:
                tokens = _noai_in(value)
                if tokens:
                    found.append({"source": "meta", "tag": f'<meta name="{name}" content="{value}">',
                                  "tokens": tokens, **({"agent": name} if name != "robots" else {})})
        if found:
            refusals["noai"] = found
    if "tdmrep" in honoured:
        for level, values, label in (("header", headers.get("tdm-reservation"), "tdm-reservation: {}"),
                                     ("meta", metas.get("tdm-reservation"),
                                      '<meta name="tdm-reservation" content="{}">')):
            value, written, problems = tdm_value(values)
            errors += [f"{level}: {p}" for p in problems]
            if value is not None:
                levels[level] = (value, label.format(written.strip()))
        policies = [*(headers.get("tdm-policy") or ()), *(metas.get("tdm-policy") or ())]
        if policies:
            levels["policy"] = policies[0]
    if "aipref" in honoured:
        found = []
        for value in headers.get("content-usage") or ():
            try:
                members = parse_sf_dictionary(value)
            except ValueError as exc:
                errors.append(f"Content-Usage header {value[:80]!r} is not an RFC 9651 dictionary ({exc}): ignored")
                continue
            answer = members.get("train-ai")
            if isinstance(answer, Token) and answer == "n":
                found.append({"source": "header", "header": f"Content-Usage: {value}", "category": "train-ai"})
        if found:
            refusals["aipref"] = found
    if page.get("dropped"):
        errors.append(f"values left out (caps): {page['dropped']}")
    return refusals, levels, errors
