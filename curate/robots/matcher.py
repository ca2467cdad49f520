"""RFC 9309 robots.txt matching that decides exactly as Google's reference parser (google/robotstxt).

A file is parsed once (`RobotsTxt.parse`); an agent is resolved to the merged rules that apply to it on first
use and cached by product token, so deciding many URLs for many agents only walks rules that can apply, and
agents sharing a rule set are evaluated once per URL.

Behaviour reproduced from the reference parser (its test suites are the acceptance tests):
- the body is handled as bytes: a (partial) UTF-8 byte-order mark is skipped, lines end at CR, LF or CRLF,
  a line is cut at a NUL byte, at ``#`` and after 16,663 bytes, ASCII whitespace is stripped;
- ``key: value``; a missing colon is accepted when the line is exactly two whitespace-separated words;
- keys match by case-insensitive prefix, with Google's accepted typos (``useragent``, ``user agent``,
  ``dissallow``, ``dissalow``, ``disalow``, ``diasllow``, ``disallaw``, ``site-map``);
- consecutive user-agent lines open one group; a group ends at the first user-agent line after a rule;
  other lines (Crawl-delay, Sitemap, unknown keys) neither end nor split a group; every group naming an agent
  applies to it (merged); ``*`` groups apply only when no group names the agent;
- a group's user-agent value is cut to its leading ``[A-Za-z_-]`` run and compared case-insensitively;
  ``*`` (optionally followed by whitespace and anything) is the global group;
- patterns are percent-escaped (non-ASCII bytes become ``%XX``, ``%xx`` is uppercased); the URL path is used
  as given (Google expects it escaped already);
- longest matching pattern wins (priority = pattern length in bytes), Allow wins ties, an empty pattern
  matches with priority 0 and never blocks; ``*`` matches any run, a final ``$`` anchors the end;
- Google's ``index.htm(l)`` rule: an ``Allow: /dir/index.html`` that does not match also allows ``/dir/``.

Agents: by default an agent's product token is matched (``CCBot/2.0`` is ``CCBot``), as a crawler obeys
its product token. Google's library compares the whole string it is handed (it expects a bare token), so a
string such as ``CCBot/2.0`` or ``AI2Bot`` (a digit ends the token) names no group there; ``exact_agent=True``
reproduces that. Both agree whenever the agent is a bare product token.

Internally a body is decoded as Latin-1 (one character per byte), so every byte-level rule above holds
while the work is done with fast ``str`` operations.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, NamedTuple

__all__ = [
    "Decision",
    "LineReport",
    "RobotsTxt",
    "escape_pattern",
    "extract_agent",
    "is_allowed",
    "is_valid_agent",
    "path_params_query",
    "report_lines",
]

_UTF8_BOM = b"\xef\xbb\xbf"
# The reference parser keeps at most kMaxLineLen - 1 bytes of a line (kMaxLineLen = 2083 * 8).
MAX_LINE_BYTES = 2083 * 8 - 1

_WS = " \t\n\v\f\r"  # C isspace() / absl ASCII whitespace (str.strip() alone would also strip \x85, \xa0)
_LINE_WS = " \t\v\f"  # whitespace that can occur inside a line once line ends are normalised
_AGENT_TOKEN = re.compile(r"[A-Za-z_-]*")
_SPACE_OR_TAB = re.compile(r"[ \t]+")
_PATH_START = re.compile(r"[/?;]")
_ESCAPE_NEEDED = re.compile(r"%[0-9A-Fa-f]{2}|[\x80-\xff]")

# One pass over the whole (line-end normalised) text finds the lines that can be user-agent/allow/disallow
# directives: their first non-blank character is u, a or d. The first alternative splits an ordinary
# "key: value" line in C; anything unusual (missing colon, blank inside the key, a comment before the colon)
# falls to the second alternative and is split by the exact line reader below.
_CANDIDATE = re.compile(
    r"^[ \t\v\f]*(?:([uUaAdD][^:#\n\x00 \t\v\f]*)[ \t\v\f]*:[ \t\v\f]*([^#\n\x00]*)|[uUaAdD][^\n]*)",
    re.MULTILINE,
)

_USER_AGENT_TYPOS = ("useragent", "user agent")
_DISALLOW_TYPOS = ("dissallow", "dissalow", "disalow", "diasllow", "disallaw")

# Kinds of compiled pattern, cheapest test first.
_PREFIX, _EXACT, _WILDCARD = 0, 1, 2


# --------------------------------------------------------------------------------------------------------
# Small public helpers (each mirrors one function of the reference parser; tested against its cases)
# --------------------------------------------------------------------------------------------------------
def extract_agent(user_agent: str) -> str:
    """Return the product token of a user agent: its leading run of ``[A-Za-z_-]`` (``CCBot/2.0`` -> ``CCBot``)."""
    return _AGENT_TOKEN.match(user_agent).group()


def is_valid_agent(user_agent: str | None) -> bool:
    """True when ``user_agent`` is a non-empty product token and nothing else (Google's IsValidUserAgentToObey)."""
    return bool(user_agent) and extract_agent(user_agent) == user_agent


def path_params_query(url: str) -> str:
    """Return the path, params and query of ``url`` (scheme, authority and fragment removed), always starting
    with ``/``; ``/`` when the URL has no path. Mirrors Google's GetPathParamsQuery, including its handling of
    scheme-less and protocol-relative URLs."""
    if url.startswith(("https://", "http://")):
        # Common case: nothing can precede "://", so the path starts at the first "/?;" after the host.
        start = _PATH_START.search(url, 8 if url[4] == "s" else 7)
        if start is None:
            return "/"
        hash_pos = url.find("#")
        if 0 <= hash_pos < start.start():
            return "/"
        path = url[start.start() :] if hash_pos < 0 else url[start.start() : hash_pos]
        return path if path[0] == "/" else "/" + path
    search_start = 2 if url.startswith("//") else 0
    early = _PATH_START.search(url, search_start)
    protocol_end = url.find("://", search_start)
    if protocol_end < 0 or (early is not None and early.start() < protocol_end):
        protocol_end = search_start  # no scheme, or "://" only inside the path, params or query
    else:
        protocol_end += 3
    start = _PATH_START.search(url, protocol_end)
    if start is None:
        return "/"
    path_start = start.start()
    hash_pos = url.find("#", search_start)
    if 0 <= hash_pos < path_start:
        return "/"
    path = url[path_start:] if hash_pos < 0 else url[path_start:hash_pos]
    return path if path[0] == "/" else "/" + path


def escape_pattern(pattern: str | bytes) -> str:
    """Canonicalise a rule pattern as Google does: bytes >= 0x80 become ``%XX`` (UTF-8 for text) and existing
    ``%xx`` escapes are uppercased. The result is ASCII."""
    raw = pattern.encode("utf-8", "surrogateescape") if isinstance(pattern, str) else bytes(pattern)
    return _escape(raw.decode("latin-1"))


def _escape_match(m: re.Match[str]) -> str:
    token = m.group()
    return token.upper() if len(token) == 3 else "%%%02X" % ord(token)


def _escape(value: str) -> str:
    """`escape_pattern` for a Latin-1 view of the pattern bytes."""
    if "%" not in value and value.isascii():
        return value
    return _ESCAPE_NEEDED.sub(_escape_match, value)


def _display(latin1: str) -> str:
    """Text for evidence: the bytes read as UTF-8 (invalid bytes replaced)."""
    return latin1 if latin1.isascii() else latin1.encode("latin-1").decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------------------
# Reading lines (exact, line by line) and the per-line report
# --------------------------------------------------------------------------------------------------------
def _prepare(body: str | bytes | bytearray | memoryview) -> str:
    """Body as the reference sees it: bytes after any prefix of a UTF-8 BOM, one character per byte, with
    every line end (CRLF, CR, LF) turned into LF so that line numbers are LF counts."""
    if isinstance(body, str):
        raw = body.encode("utf-8", "surrogateescape")
    elif isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
    else:
        raise TypeError(f"robots.txt body must be str or bytes, not {type(body).__name__}")
    bom = 0
    while bom < 3 and bom < len(raw) and raw[bom] == _UTF8_BOM[bom]:
        bom += 1
    text = raw[bom:].decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _clean_line(line: str) -> tuple[str, bool]:
    """A line without its comment and surrounding whitespace, and whether it had a comment."""
    if len(line) > MAX_LINE_BYTES:
        line = line[:MAX_LINE_BYTES]
    nul = line.find("\0")  # the reference works on C strings: a NUL ends the line
    if nul >= 0:
        line = line[:nul]
    hash_pos = line.find("#")
    if hash_pos >= 0:
        line = line[:hash_pos]
    return line.strip(_WS), hash_pos >= 0


def _split_key_value(line: str) -> tuple[str, str, bool] | None:
    """Split a cleaned, non-empty line into (key, value, colon_missing), or None when it has no directive."""
    sep = line.find(":")
    missing_colon = sep < 0
    if missing_colon:
        # Accept whitespace instead of the colon, but only between exactly two words.
        gap = _SPACE_OR_TAB.search(line)
        if gap is None or _SPACE_OR_TAB.search(line, gap.end()):
            return None
        sep = gap.start()
    key = line[:sep].strip(_WS)
    if not key:
        return None
    return key, line[sep + 1 :].strip(_WS), missing_colon


def _key_type(key: str) -> tuple[str, bool]:
    """(directive, is_accepted_typo) for a key; directive is user-agent|allow|disallow|sitemap|other."""
    low = key.lower()
    if low.startswith("user-agent"):
        return "user-agent", False
    if low.startswith(_USER_AGENT_TYPOS):
        return "user-agent", True
    if low.startswith("allow"):
        return "allow", False
    if low.startswith("disallow"):
        return "disallow", False
    if low.startswith(_DISALLOW_TYPOS):
        return "disallow", True
    if low.startswith("sitemap"):
        return "sitemap", False
    if low.startswith("site-map"):
        return "sitemap", True
    return "other", False


_KEY_TYPES: dict[str, str] = {}  # memo of _key_type(key)[0]: real files repeat a handful of keys


def _directive(key: str) -> str:
    kind = _KEY_TYPES.get(key)
    if kind is None:
        kind = _key_type(key)[0]
        if len(_KEY_TYPES) < 4096:  # bounded: a hostile file cannot grow it without limit
            _KEY_TYPES[key] = kind
    return kind


def _read_line(line: str) -> tuple[str, str, str] | None:
    """(directive, key, value) of one raw line, or None when it holds no directive."""
    cleaned = _clean_line(line)[0]
    kv = _split_key_value(cleaned) if cleaned else None
    if kv is None:
        return None
    return _key_type(kv[0])[0], kv[0], kv[1]


def _directives_exact(text: str) -> Iterator[tuple[str, str, str, int]]:
    """(directive, key, value, line number) for every directive line, reading line by line."""
    for number, line in enumerate(text.split("\n"), 1):
        item = _read_line(line)
        if item is not None:
            yield (*item, number)


def _directives_fast(text: str) -> Iterator[tuple[str, str, str, int]]:
    """Like `_directives_exact`, restricted to user-agent/allow/disallow lines, found with one regex pass."""
    line, counted = 1, 0  # line number at offset `counted`
    for m in _CANDIDATE.finditer(text):
        key, value = m.group(1, 2)
        start = m.start()
        if key is not None and m.end() - start <= MAX_LINE_BYTES:
            kind = _directive(key)
            value = value.rstrip(_LINE_WS)
        else:  # unusual line: read it exactly
            end = text.find("\n", start)
            item = _read_line(text[start:] if end < 0 else text[start:end])
            if item is None:
                continue
            kind, key, value = item
        if kind in ("user-agent", "allow", "disallow"):
            line += text.count("\n", counted, start)
            counted = start
            yield kind, key, value, line


# Keys Google's reporter knows but does not use ("Unused" rather than "Unknown").
_UNUSED_KEYS = frozenset({"clean-param", "crawl-delay", "host", "noarchive", "noindex", "nofollow"})
_TAGS = {"user-agent": "UserAgent", "allow": "Allow", "disallow": "Disallow", "sitemap": "Sitemap"}


@dataclass(frozen=True)
class LineReport:
    """How one line was read (the fields of Google's RobotsParsingReporter)."""

    line_num: int
    tag_name: str  # UserAgent | Allow | Disallow | Sitemap | Unused | Unknown
    is_empty: bool = False
    has_directive: bool = False
    has_comment: bool = False
    is_comment: bool = False
    is_acceptable_typo: bool = False
    is_line_too_long: bool = False
    is_missing_colon_separator: bool = False


def report_lines(body: str | bytes) -> list[LineReport]:
    """Per-line parse report (tag, accepted typo, missing colon, comment, too long), for diagnostics."""
    reports = []
    for number, raw_line in enumerate(_prepare(body).split("\n"), 1):
        line, has_comment = _clean_line(raw_line)
        too_long = len(raw_line) > MAX_LINE_BYTES
        kv = _split_key_value(line) if line else None
        if kv is None:
            empty = not line
            reports.append(
                LineReport(
                    number,
                    "Unknown",
                    is_empty=empty and not has_comment,
                    has_comment=has_comment,
                    is_comment=empty and has_comment,
                    is_line_too_long=too_long,
                )
            )
            continue
        key, _value, missing_colon = kv
        kind, typo = _key_type(key)
        tag = _TAGS.get(kind) or ("Unused" if key.lower() in _UNUSED_KEYS else "Unknown")
        reports.append(
            LineReport(
                number,
                tag,
                has_directive=True,
                has_comment=has_comment,
                is_acceptable_typo=typo,
                is_line_too_long=too_long,
                is_missing_colon_separator=missing_colon,
            )
        )
    return reports


# --------------------------------------------------------------------------------------------------------
# Parsed structure and matching
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """Why an agent may or may not fetch a URL.

    ``group`` holds the user-agent values (as written) of the group whose rules applied, ``None`` when no group
    applied; ``rule`` is the deciding line as written (e.g. ``"Disallow: /private"``), ``line`` its 1-based line
    number and ``pattern`` the canonical pattern that matched; all three are ``None`` when no rule matched.
    """

    agent: str
    allowed: bool
    group: tuple[str, ...] | None = None
    rule: str | None = None
    line: int | None = None
    pattern: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready evidence (lists instead of tuples)."""
        data = asdict(self)
        if data["group"] is not None:
            data["group"] = list(data["group"])
        return data


class _Rule(NamedTuple):
    allow: bool
    pattern: str  # canonical (escaped) pattern; its length is the match priority
    line: int  # 1-based line number
    key: str  # directive and value as written (Latin-1 view), for evidence
    value: str
    agents: tuple[str, ...]  # the user-agent values of its group, as text (no back-reference: no cycles)


class _Group:
    __slots__ = ("agents", "is_global", "raw", "rules", "display")

    def __init__(self) -> None:
        self.agents: list[str] = []  # user-agent values as written (Latin-1 view)
        self.is_global = False
        self.raw: list[tuple[bool, str, str, int]] = []  # (allow, key, value, line number)
        self.display: tuple[str, ...] = ()  # agents as text, set when the rules are built
        self.rules: list[_Rule] | None = None  # built from raw on first use


def _compile(pattern: str) -> tuple[int, object]:
    """Pre-compile a canonical pattern into (kind, data) for `_RuleSet.evaluate`."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    if "*" not in body:
        return (_EXACT, body) if anchored else (_PREFIX, body)
    parts = body.split("*")
    return _WILDCARD, (parts[0], tuple(p for p in parts[1:-1] if p), parts[-1], anchored)


def _wildcard_match(path: str, data: tuple) -> bool:
    """Match ``first*mid*...*last[$]`` against ``path`` anchored at its start.

    Taking each middle piece at its leftmost occurrence is optimal, so this runs in linear time with no
    backtracking (a regex of ``.*`` runs can be made exponential by an adversarial pattern)."""
    first, middles, last, anchored = data
    if not path.startswith(first):
        return False
    pos = len(first)
    for piece in middles:
        found = path.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    if anchored:
        return len(path) - len(last) >= pos and path.endswith(last)
    return not last or path.find(last, pos) >= 0


def _entry(rule: _Rule, pattern: str) -> tuple:
    """(sort key, allow, rule, pattern, kind, data); sort key = longest first, Allow first, file order."""
    return ((-len(pattern), not rule.allow, rule.line), rule.allow, rule, pattern, *_compile(pattern))


def _index_page_alternative(rule: _Rule) -> str | None:
    """Google treats ``Allow: .../index.htm*`` as also allowing the directory itself (``.../$``)."""
    if not rule.allow:
        return None
    slash = rule.pattern.rfind("/")
    if slash >= 0 and rule.pattern.startswith("/index.htm", slash):
        return rule.pattern[: slash + 1] + "$"
    return None


class _RuleSet:
    """The merged rules that apply to one agent, indexed so that the deciding rule is found quickly.

    Deciding rule = the first match in (longest pattern, Allow before Disallow, file order) order. Plain
    prefix patterns are bucketed by length, so the longest matching one is found with one dict lookup per
    distinct length; the few wildcard and end-anchored patterns are tried in order, only while they could
    still beat the prefix found."""

    __slots__ = ("groups", "prefixes", "buckets", "special", "decisions", "evidence")

    def __init__(self, groups: tuple[_Group, ...]) -> None:
        self.groups = groups
        buckets: dict[int, dict[str, tuple]] = {}
        special = []
        for group in groups:
            for rule in group.rules:
                pattern = rule.pattern
                if "*" in pattern or pattern.endswith("$"):
                    special.append(_entry(rule, pattern))
                else:
                    key = (-len(pattern), not rule.allow, rule.line)
                    entry = (key, rule.allow, rule, pattern, _PREFIX, pattern)
                    bucket = buckets.setdefault(len(pattern), {})
                    known = bucket.get(pattern)
                    if known is None or entry[0] < known[0]:  # same pattern twice: Allow, then earlier, wins
                        bucket[pattern] = entry
                if rule.allow and "/index.htm" in pattern:
                    alternative = _index_page_alternative(rule)
                    if alternative is not None:
                        # Tried only when the rule itself does not match: it is shorter, so it sorts after.
                        special.append(_entry(rule, alternative))
        special.sort(key=lambda e: e[0])
        self.buckets = tuple(sorted(buckets.items(), reverse=True))
        # One C-level startswith over every plain prefix rules them all out at once.
        self.prefixes = tuple(p for _length, bucket in self.buckets for p in bucket)
        self.special = tuple(special)
        # Evidence is immutable: built once per (agent, rule, pattern), and per rule for its shared part.
        self.decisions: dict[tuple, Decision] = {}
        self.evidence: dict[_Rule | None, tuple] = {}

    def evaluate(self, path: str) -> tuple[bool, _Rule | None, str | None]:
        """Return (allowed, deciding rule, matched pattern) for a path (bytes mapped 1:1 to characters)."""
        best = None
        if self.prefixes and path.startswith(self.prefixes):
            size = len(path)
            for length, bucket in self.buckets:
                if length <= size:
                    best = bucket.get(path[:length])
                    if best is not None:
                        break
        for entry in self.special:
            if best is not None and entry[0] > best[0]:
                break  # cannot beat the prefix match any more
            kind = entry[4]
            if path == entry[5] if kind == _EXACT else _wildcard_match(path, entry[5]):
                best = entry
                break
        if best is None:
            return True, None, None
        # A zero-length pattern matches with priority 0, which never blocks.
        return (best[1] or not best[3]), best[2], best[3]

    def decision(self, agent: str, outcome: tuple) -> Decision:
        """The (cached) evidence for ``agent`` given an `evaluate` outcome."""
        allowed, rule, pattern = outcome
        key = (agent, rule, pattern)
        found = self.decisions.get(key)
        if found is None:
            group, text, line = self.rule_evidence(rule)
            found = self.decisions[key] = _decision(agent, allowed, group, text, line, pattern)
        return found

    def rule_evidence(self, rule: _Rule | None) -> tuple[tuple[str, ...], str | None, int | None]:
        """(group agents, rule as written, line number) of a deciding rule, computed once per rule."""
        found = self.evidence.get(rule)
        if found is None:
            if rule is None:
                found = (self.groups[0].display, None, None)
            else:
                text = _display(f"{rule.key}: {rule.value}".rstrip())
                found = (rule.agents, text, rule.line)
            self.evidence[rule] = found
        return found


def _decision(agent: str, allowed: bool, group, rule, line, pattern) -> Decision:
    """Build a frozen Decision without the generated __init__ (its per-field object.__setattr__ calls are a
    measurable share of bulk opt-out runs)."""
    decision = object.__new__(Decision)
    decision.__dict__.update(agent=agent, allowed=allowed, group=group, rule=rule, line=line, pattern=pattern)
    return decision


def _agent_key(agent: str, exact: bool) -> str | None:
    """The lower-cased name compared with the groups' product tokens; None when it can name no group.

    Default: the agent's product token (``CCBot/2.0`` -> ``ccbot``). exact=True: the whole string, as Google's
    reference library compares it (a string that is not a bare product token then names no group)."""
    key = _AGENT_KEYS.get((agent, exact), _MISSING)
    if key is _MISSING:
        key = _agent_key_uncached(agent, exact)
        if len(_AGENT_KEYS) < 4096:  # agents repeat across files; bounded so odd callers cannot grow it
            _AGENT_KEYS[(agent, exact)] = key
    return key


_AGENT_KEYS: dict[tuple[str, bool], str | None] = {}
_MISSING = object()


def _agent_key_uncached(agent: str, exact: bool) -> str | None:
    if not isinstance(agent, str):
        raise TypeError(f"user agent must be str, not {type(agent).__name__}")
    if exact:
        return agent.lower() if agent.isascii() and agent != "*" else None
    token = extract_agent(agent)
    return token.lower() if token else None


def _path_key(url: str) -> str:
    """The URL's path+params+query as matched: its UTF-8 bytes, one character per byte (patterns are ASCII)."""
    if not isinstance(url, str):
        raise TypeError(f"url must be str, not {type(url).__name__}")
    path = path_params_query(url)
    if path.isascii():
        return path
    return path.encode("utf-8", "surrogateescape").decode("latin-1")


class RobotsTxt:
    """A parsed robots.txt: parse once with `RobotsTxt.parse`, then decide many (agent, URL) pairs."""

    def __init__(self, text: str, groups: list[_Group], by_token: dict[str, list[_Group]]) -> None:
        self._text = text
        self._groups = groups
        self._groups_by_token = by_token
        self._global: _RuleSet | None = None
        self._global_done = False
        self._by_token: dict[str, _RuleSet | None] = {}
        self._plans: dict[tuple, list] = {}
        self._last_plan: tuple | None = None
        self._scan: dict | None = None

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def parse(cls, body: str | bytes) -> "RobotsTxt":
        """Parse a robots.txt body (text, or raw bytes in any encoding; bytes are handled as Google does)."""
        text = _prepare(body)
        groups: list[_Group] = []
        by_token: dict[str, list[_Group]] = {}  # lower-cased product token -> groups naming it, file order
        current: _Group | None = None
        seen_rule = False  # a rule after the group's user-agent lines: the next user-agent opens a new group
        for kind, key, value, number in _directives_fast(text):
            if kind == "user-agent":
                if current is None or seen_rule:
                    current = _Group()
                    groups.append(current)
                    seen_rule = False
                current.agents.append(value)
                if value[:1] == "*" and (len(value) == 1 or value[1] in _WS):
                    current.is_global = True
                else:
                    # An empty token (e.g. "User-agent: 1bot" names "") can only match an exact "" agent.
                    named = by_token.setdefault(_AGENT_TOKEN.match(value).group().lower(), [])
                    if not named or named[-1] is not current:
                        named.append(current)
            elif kind in ("allow", "disallow") and current is not None:
                # (rules before any user-agent line apply to nobody)
                seen_rule = True
                current.raw.append((kind == "allow", key, value, number))
        return cls(text, groups, by_token)

    def _ruleset(self, groups: tuple[_Group, ...]) -> _RuleSet:
        for group in groups:
            if group.rules is None:
                group.display = display = tuple(_display(a) for a in group.agents)
                group.rules = [
                    _Rule(allow, _escape(value), number, key, value, display)
                    for allow, key, value, number in group.raw
                ]
        return _RuleSet(groups)

    # ---- parse statistics (read line by line on demand) ---------------------------------------------
    def _full_scan(self) -> dict:
        if self._scan is None:
            stats = {"n_lines": self._text.count("\n") + 1, "directives": 0, "other_directives": 0}
            sitemaps: list[str] = []
            last = 0
            for number, line in enumerate(self._text.split("\n"), 1):
                item = _read_line(line)
                if item is None:
                    continue
                last = number
                kind, _key, value = item
                stats["directives" if kind != "other" else "other_directives"] += 1
                if kind == "sitemap":
                    sitemaps.append(_display(value))
            stats["last_directive_line"] = last
            self._scan = {"stats": stats, "sitemaps": sitemaps}
        return self._scan

    @property
    def sitemaps(self) -> list[str]:
        """Sitemap URLs named in the file, in order."""
        return list(self._full_scan()["sitemaps"])

    @property
    def stats(self) -> dict[str, int]:
        """Parse statistics as Google's parse handlers count them: n_lines, directives (user-agent, allow,
        disallow and sitemap lines, typos included), other_directives (Crawl-delay, unknown keys) and
        last_directive_line."""
        return dict(self._full_scan()["stats"])

    # ---- agent resolution ---------------------------------------------------------------------------
    def _specific(self, token: str) -> _RuleSet | None:
        """The merged rule set of every group naming ``token`` (lower-cased), None when none names it."""
        try:
            return self._by_token[token]
        except KeyError:
            pass
        groups = self._groups_by_token.get(token)
        ruleset = self._ruleset(tuple(groups)) if groups else None
        self._by_token[token] = ruleset
        return ruleset

    def _global_rules(self) -> _RuleSet | None:
        if not self._global_done:
            groups = tuple(g for g in self._groups if g.is_global)
            self._global = self._ruleset(groups) if groups else None
            self._global_done = True
        return self._global

    def _ruleset_for(self, agent: str, star: bool = True, exact_agent: bool = False) -> _RuleSet | None:
        """The rule set deciding for ``agent``: its own groups, else (star=True) the ``*`` groups."""
        token = _agent_key(agent, exact_agent)
        specific = self._specific(token) if token is not None else None
        if specific is not None:
            return specific
        return self._global_rules() if star else None

    def agent_groups(self, agent: str, *, exact_agent: bool = False) -> list[tuple[str, ...]]:
        """User-agent values of every group that applies to ``agent`` (merged groups; ``*`` as fall-back)."""
        ruleset = self._ruleset_for(agent, True, exact_agent)
        return [] if ruleset is None else [tuple(_display(a) for a in g.agents) for g in ruleset.groups]

    # ---- decisions ----------------------------------------------------------------------------------
    def is_allowed(self, agent: str, url: str, *, exact_agent: bool = False) -> bool:
        """True when ``agent`` may fetch ``url``.

        The agent's product token is matched (``CCBot/2.0`` is ``CCBot``); ``exact_agent=True`` compares the
        whole string as Google's library does when handed a string that is not a bare product token."""
        ruleset = self._ruleset_for(agent, True, exact_agent)
        return True if ruleset is None else ruleset.evaluate(_path_key(url))[0]

    def decide(self, agent: str, url: str, *, star: bool = True, exact_agent: bool = False) -> Decision:
        """Decision with evidence for one agent and URL (see `Decision`; ``star`` as in `blocked_agents`)."""
        ruleset = None if (not star and agent == "*") else self._ruleset_for(agent, star, exact_agent)
        if ruleset is None:
            return Decision(agent=agent, allowed=True)
        return ruleset.decision(agent, ruleset.evaluate(_path_key(url)))

    def _plan(self, agents: tuple[str, ...], star: bool, exact_agent: bool) -> list[_PlanEntry]:
        """Agents grouped by the rule set that decides for them, so each set is evaluated once per URL."""
        key = (agents, star, exact_agent)
        plan = self._plans.get(key)
        if plan is None:
            by_set: dict[int, _PlanEntry] = {}
            for position, agent in enumerate(agents):
                if not star and agent == "*":
                    continue  # star=False: only groups that name an agent count
                ruleset = self._ruleset_for(agent, star, exact_agent)
                if ruleset is not None:
                    entry = by_set.setdefault(id(ruleset), _PlanEntry(ruleset))
                    entry.agents.append(agent)
                    entry.positions.append(position)
            plan = list(by_set.values())
            self._plans[key] = plan
        return plan

    def blocked_agents(
        self, agents: Iterable[str], url: str, star: bool = True, *, exact_agent: bool = False
    ) -> list[str]:
        """The agents (in the given order) that may not fetch ``url``.

        star=True (default, as Apertus): RFC semantics, an agent no group names falls back to the ``*`` group
        and a literal ``*`` is the ``*`` group. star=False: an agent is blocked only when a group naming it
        disallows the URL; ``*`` entries and the fall-back are ignored."""
        return [d.agent for d in self.blocking_evidence(agents, url, star, exact_agent=exact_agent)]

    def blocking_evidence(
        self, agents: Iterable[str], url: str, star: bool = True, *, exact_agent: bool = False
    ) -> list[Decision]:
        """A `Decision` (group, blocking rule, its line) for each agent that may not fetch ``url``, in order."""
        path = _path_key(url)
        hits = []
        last = self._last_plan  # the same list object asked again (the bulk case): skip re-hashing it
        if last is not None and last[0] is agents and last[1] == star and last[2] == exact_agent:
            plan = last[3]
        else:
            plan = self._plan(tuple(agents), star, exact_agent)
            if isinstance(agents, tuple):  # only immutable lists may be recognised by identity
                self._last_plan = (agents, star, exact_agent, plan)
        for entry in plan:
            outcome = entry.ruleset.evaluate(path)
            if not outcome[0]:
                hits.append(entry.evidence(outcome))
        if not hits:
            return []
        if len(hits) == 1:
            return list(hits[0][1])
        merged = sorted(zip((p for h in hits for p in h[0]), (d for h in hits for d in h[1])))
        return [d for _p, d in merged]


class _PlanEntry:
    """Agents (and their positions in the asked list) that one rule set decides for."""

    __slots__ = ("ruleset", "agents", "positions", "cache")

    def __init__(self, ruleset: _RuleSet) -> None:
        self.ruleset = ruleset
        self.agents: list[str] = []
        self.positions: list[int] = []
        self.cache: dict[tuple, tuple[list[int], tuple[Decision, ...]]] = {}

    def evidence(self, outcome: tuple) -> tuple[list[int], tuple[Decision, ...]]:
        """(positions, decisions) of all member agents for one outcome; built once per deciding rule."""
        allowed, rule, pattern = outcome
        found = self.cache.get((rule, pattern))
        if found is None:
            group, text, line = self.ruleset.rule_evidence(rule)
            decisions = tuple(_decision(a, allowed, group, text, line, pattern) for a in self.agents)
            found = self.cache[(rule, pattern)] = (self.positions, decisions)
        return found


def is_allowed(robots_txt: str | bytes, user_agent: str, url: str, *, exact_agent: bool = False) -> bool:
    """One-shot check: may ``user_agent`` fetch ``url`` under ``robots_txt``? (Parse once with `RobotsTxt`
    when deciding more than one URL.) ``exact_agent`` as in `RobotsTxt.is_allowed`."""
    return RobotsTxt.parse(robots_txt).is_allowed(user_agent, url, exact_agent=exact_agent)
