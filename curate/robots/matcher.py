"""RFC 9309 robots.txt matching that decides exactly as Google's reference parser (google/robotstxt).

A file is parsed once (`RobotsTxt.parse`), which reads only its user-agent lines (groups and where their rules
lie); a group's rules are read and indexed when an agent first needs them. An agent is resolved to the merged
rules that apply to it on first use and cached by product token, so deciding many URLs for many agents only
walks rules that can apply, and agents sharing a rule set are evaluated once per URL. Evidence is built once
per deciding rule and shared by the URLs it decides; line numbers are counted only for evidence. Bulk callers
use `RobotsTxt.blocking`, which returns one immutable `Block` per refusing rule (the agents it refuses, group,
rule, line, pattern); `decide` and `blocking_evidence` give the same evidence as one `Decision` per agent.

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

Usage signals (not RFC 9309; they never change an Allow/Disallow decision or where a group begins and ends):
``Content-Usage:`` lines (IETF AIPREF, ``[path] <RFC 9651 dictionary>``, e.g. ``Content-Usage: /ai-ok/
train-ai=y``) and ``Content-Signal:`` lines (Cloudflare, ``search=yes, ai-train=no``) inside a group are
extra rule kinds, read once per file on first use. They apply to an agent through the same group selection
as its Allow/Disallow rules; the longest matching path wins (``*`` and ``$`` as above; no path = ``/``) and
lines with equal paths combine restrictively (any ``n``, else any ``y``). `RobotsTxt.signal` answers for one
agent, `RobotsTxt.signal_refusals` in bulk with the line (number and text) as evidence; a malformed line is
ignored and counted (`RobotsTxt.signal_errors`).
"""
from __future__ import annotations

import operator
import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import repeat
from typing import Iterable, Iterator, NamedTuple

__all__ = [
    "Block",
    "Decision",
    "SignalRefusal",
    "SignalRule",
    "LineReport",
    "RobotsTxt",
    "escape_pattern",
    "extract_agent",
    "is_allowed",
    "is_valid_agent",
    "parse_sf_dictionary",
    "path_matches",
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
# "http(s)://", the authority (up to the first "/?;" or "#"), then the path, params and query up to any "#"
# (empty when the fragment starts first or nothing follows the authority).
_HTTP_PATH = re.compile(r"https?://[^/?;#]*([^#]*)")
_ESCAPE_NEEDED = re.compile(r"%[0-9A-Fa-f]{2}|[\x80-\xff]")

# One pass over the whole (line-end normalised) text finds the lines that can be user-agent/allow/disallow
# directives: their first non-blank character is u, a or d. The first alternative splits an ordinary
# "key: value" line in C; anything unusual (missing colon, blank inside the key, a comment before the colon)
# falls to the second alternative and is split by the exact line reader below.
_CANDIDATE = re.compile(
    r"^[ \t\v\f]*(?:([uUaAdD][^:#\n\x00 \t\v\f]*)[ \t\v\f]*:[ \t\v\f]*([^#\n\x00]*)|[uUaAdD][^\n]*)",
    re.MULTILINE,
)
# The same split for one kind of line: `RobotsTxt.parse` reads only the user-agent lines up front, and a
# group's allow/disallow lines (keys start with a or d) are read when an agent first needs that group. These
# patterns open with the line feed before the line (the first line is tried on its own), a literal that lets
# the regex engine jump from one line feed to the next in C. Group 3 is an unusual line, read exactly.
_LINE_TEMPLATE = (
    r"[ \t\v\f]*(?:({first}[^:#\n\x00 \t\v\f]*)[ \t\v\f]*:[ \t\v\f]*([^#\n\x00]*)|({first}[^\n]*))"
)
_AGENT_FIRST = re.compile(_LINE_TEMPLATE.format(first="[uU]"))
_AGENT_NEXT = re.compile("\n" + _LINE_TEMPLATE.format(first="[uU]"))
_RULE_NEXT = re.compile("\n" + _LINE_TEMPLATE.format(first="[aAdD]"))
# A group's lines, every one of them: the same split where the line is an allow/disallow candidate, empty
# groups where it is not, so that the n-th item is the n-th line of the group (line numbers for free).
_GROUP_LINES = re.compile("\n(?:" + _LINE_TEMPLATE.format(first="[aAdD]") + ")?")

_USER_AGENT_TYPOS = ("useragent", "user agent")
_DISALLOW_TYPOS = ("dissallow", "dissalow", "disalow", "diasllow", "disallaw")

# Kinds of wildcard/anchored pattern (plain prefixes are indexed separately), each with its cheapest test:
# "first*" (starts with), "first*last" (then contains), "body$" (equals), "first*last$" (then ends with),
# anything else (the general matcher).
_STARTS, _CONTAINS, _EXACT, _ENDS, _GENERAL = range(5)
# A rule set with more wildcard rules than this tries, per path, only those whose literal start fits the path.
_BUCKET_MIN = 8


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
    m = _HTTP_PATH.match(url)
    if m is not None:
        # Common case: nothing can precede "://", so the path starts at the first "/?;" after the host.
        path = m.group(1)
        return path if path[:1] == "/" else "/" + path
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


def _split_candidate(m: re.Match[str], text: str, start: int) -> tuple[str, str, str] | None:
    """(directive, key, value) of a line (starting at ``start``) found by a candidate regex; None if none."""
    key, value = m.group(1, 2)
    if key is not None and m.end() - start <= MAX_LINE_BYTES:
        return _directive(key), key, value.rstrip(_LINE_WS)
    end = text.find("\n", start)  # unusual line: read it exactly
    return _read_line(text[start:] if end < 0 else text[start:end])


def _directives_fast(text: str) -> Iterator[tuple[str, str, str, int]]:
    """Like `_directives_exact`, restricted to user-agent/allow/disallow lines, found with one regex pass."""
    line, counted = 1, 0  # line number at offset `counted`
    for m in _CANDIDATE.finditer(text):
        start = m.start()
        item = _split_candidate(m, text, start)
        if item is not None and item[0] in ("user-agent", "allow", "disallow"):
            line += text.count("\n", counted, start)
            counted = start
            yield (*item, line)


def _agent_lines(text: str) -> list[tuple[int, str]]:
    """(offset, value) of every user-agent line, in file order."""
    found = []
    first = _AGENT_FIRST.match(text)
    if first is not None:
        item = _split_candidate(first, text, 0)
        if item is not None and item[0] == "user-agent":
            found.append((0, item[2]))
    for m in _AGENT_NEXT.finditer(text):
        start = m.start() + 1
        item = _split_candidate(m, text, start)
        if item is not None and item[0] == "user-agent":
            found.append((start, item[2]))
    return found


def _has_rule(text: str, start: int, end: int) -> bool:
    """True when text[start:end] (``start`` just after a line feed) holds an allow/disallow line."""
    pos = start - 1
    while True:
        m = _RULE_NEXT.search(text, pos, end)
        if m is None:
            return False
        item = _split_candidate(m, text, m.start() + 1)
        if item is not None and (item[0] == "allow" or item[0] == "disallow"):
            return True
        pos = m.end()


def _group_lines(text: str, start: int, end: int) -> list[tuple[str, str, str]]:
    """For each line of text[start:end] (``start`` just after a line feed, ``end`` at a line start or the end
    of the text), in order: (key, value, "") for an allow/disallow candidate line split by the regex, ("", "",
    line) for a candidate line to read exactly, ("", "", "") for any other line."""
    if end - start <= MAX_LINE_BYTES or max(map(len, text[start:end].split("\n"))) <= MAX_LINE_BYTES:
        return _GROUP_LINES.findall(text, start - 1, end)  # no line is cut at the length limit: the split is exact
    found = []
    for m in _GROUP_LINES.finditer(text, start - 1, end):
        key, unusual = m.group(1, 3)
        line_start = m.start() + 1
        if key is not None and m.end() - line_start <= MAX_LINE_BYTES:
            found.append((key, m.group(2), ""))
        elif key is not None or unusual is not None:
            line_end = text.find("\n", line_start)
            found.append(("", "", text[line_start:] if line_end < 0 else text[line_start:line_end]))
        else:
            found.append(("", "", ""))
    return found


_RULE_KEYS: dict[str, bool | None] = {}  # key -> True (allow), False (disallow), None (another directive)


def _rule_kind(key: str) -> bool | None:
    kind = _directive(key)
    allow = True if kind == "allow" else False if kind == "disallow" else None
    if len(_RULE_KEYS) < 4096:  # bounded: a hostile file cannot grow it without limit
        _RULE_KEYS[key] = allow
    return allow


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
class Decision(tuple):
    """Why an agent may or may not fetch a URL: ``Decision(agent, allowed, group, rule, line, pattern)``.

    ``group`` holds the user-agent values (as written) of the group whose rules applied, ``None`` when no group
    applied; ``rule`` is the deciding line as written (e.g. ``"Disallow: /private"``), ``line`` its 1-based line
    number and ``pattern`` the canonical pattern that matched; all three are ``None`` when no rule matched.

    An immutable record compared like a frozen dataclass (equal only to another Decision with equal fields; no
    ordering); read it through its attributes or `to_dict`. Bulk opt-out runs keep one per blocking agent and
    rule, so it is stored compactly: the agent and the evidence tuple (allowed, group, rule, line, pattern) that
    every agent blocked by the same rule shares, and it is built in C (see `_PlanEntry.evidence`).
    """

    __slots__ = ()
    __match_args__ = ("agent", "allowed", "group", "rule", "line", "pattern")

    def __new__(
        cls,
        agent: str,
        allowed: bool,
        group: tuple[str, ...] | None = None,
        rule: str | None = None,
        line: int | None = None,
        pattern: str | None = None,
    ) -> "Decision":
        return tuple.__new__(cls, (agent, (allowed, group, rule, line, pattern)))

    @property
    def agent(self) -> str:
        return tuple.__getitem__(self, 0)

    @property
    def allowed(self) -> bool:
        return tuple.__getitem__(self, 1)[0]

    @property
    def group(self) -> tuple[str, ...] | None:
        return tuple.__getitem__(self, 1)[1]

    @property
    def rule(self) -> str | None:
        return tuple.__getitem__(self, 1)[2]

    @property
    def line(self) -> int | None:
        return tuple.__getitem__(self, 1)[3]

    @property
    def pattern(self) -> str | None:
        return tuple.__getitem__(self, 1)[4]

    def to_dict(self) -> dict:
        """JSON-ready evidence (lists instead of tuples)."""
        agent, (allowed, group, rule, line, pattern) = self
        return {
            "agent": agent,
            "allowed": allowed,
            "group": None if group is None else list(group),
            "rule": rule,
            "line": line,
            "pattern": pattern,
        }

    def __getnewargs__(self) -> tuple:  # pickle and copy rebuild it through __new__
        agent, evidence = self
        return (agent, *evidence)

    def __repr__(self) -> str:
        agent, (allowed, group, rule, line, pattern) = self
        return (
            f"Decision(agent={agent!r}, allowed={allowed!r}, group={group!r}, rule={rule!r}, line={line!r}, "
            f"pattern={pattern!r})"
        )

    # Not equal to a plain tuple (NotImplemented would let tuple's own comparison answer).
    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__

    def __lt__(self, other: object) -> bool:
        return NotImplemented

    __le__ = __gt__ = __ge__ = __lt__


class Block(NamedTuple):
    """One rule that refuses a URL to some of the asked agents: the evidence of a bulk opt-out decision.

    ``agents`` are the asked agents this rule refuses (in the order asked), ``group`` the user-agent values (as
    written) of the group the rule belongs to, ``rule`` the line as written, ``line`` its 1-based number and
    ``pattern`` the canonical pattern that matched. `RobotsTxt.blocking` returns one per deciding rule, built
    once per rule and shared by every URL it refuses: agents decided by the same rule share one record."""

    agents: tuple[str, ...]
    group: tuple[str, ...]
    rule: str
    line: int
    pattern: str

    def decisions(self) -> list[Decision]:
        """The same evidence as one `Decision` per agent."""
        return [Decision(a, False, self.group, self.rule, self.line, self.pattern) for a in self.agents]


_new_decision = tuple.__new__  # tuple.__new__(Decision, (agent, evidence)): a Decision built in C


class _Group:
    """One group: its user-agent values and where its rules are; the rules are read on first use."""

    __slots__ = (
        "number", "agents", "is_global", "start", "end", "rules", "plain", "special", "display", "first_line",
        "head", "signals",
    )

    def __init__(self, number: int) -> None:
        self.number = number  # its index in the file's group list (rules name their group by it: no cycles)
        self.agents: list[str] = []  # user-agent values as written (Latin-1 view)
        self.is_global = False
        # Its rule lines lie in text[start:end]: after its last user-agent line, up to the next group.
        self.start = 0
        self.end = 0
        self.display: tuple[str, ...] = ()  # agents as text, set when the rules are read
        self.rules: list[tuple] | None = None  # rule tuples (see _SCORE...), read on first use
        self.plain: list[tuple] = []  # the rules with plain prefix patterns
        self.special: list[tuple] = []  # the others, compiled (`_compile_special`)
        self.first_line: int | None = None  # 1-based number of the line at `start`, counted for evidence
        self.head = 0  # offset of its first user-agent line (signal lines may sit between user-agent lines)
        self.signals: list[SignalRule] | None = None  # Content-Usage / Content-Signal lines, read on first use


# A rule is a plain tuple (built in bulk, so no per-rule constructor call):
#   (score, blocks, allow, pattern, group, index, key, value)
# score orders the rules (deciding rule = highest matching score: longest pattern, then Allow, then earliest
# line); blocks is False for Allow and for an empty pattern (priority 0 never blocks); pattern is canonical
# (escaped); group is the group's number; index is the rule's line within its group (its line number is the
# group's first line + index, counted only when evidence is built); key and value are the line as written.
_SCORE, _BLOCKS, _ALLOW, _PATTERN, _GROUP, _INDEX, _KEY, _VALUE = range(8)


def _score(pattern: str, allow: bool, position: int) -> int:
    return ((len(pattern) << 1 | allow) << 40) - position


def _group_rules(group: _Group, text: str) -> list[tuple]:
    """The group's rules in file order, read from its part of the text on first use (see `_read_group`)."""
    if group.rules is None:
        _read_group(group, text)
    return group.rules


def _read_group(group: _Group, text: str) -> None:
    """Read the group's rules and sort them for indexing: group.rules (all, in file order), group.plain (plain
    prefix patterns) and group.special (`_compile_special` entries, Google's index.html twins included)."""
    group.display = tuple(_display(a) for a in group.agents)
    rules: list[tuple] = []
    plain: list[tuple] = []
    special: list[tuple] = []
    kinds = _RULE_KEYS
    base = group.start  # + line index: a position in file order, unique within the file
    number = group.number
    add_rule, add_plain = rules.append, plain.append
    for index, (key, value, unusual) in enumerate(_group_lines(text, group.start, group.end)):
        if key:
            allow = kinds.get(key, _MISSING)
            if allow is _MISSING:
                allow = _rule_kind(key)
            if allow is None:
                continue
            value = value.rstrip(_LINE_WS)
        elif unusual:
            item = _read_line(unusual)
            if item is None or (item[0] != "allow" and item[0] != "disallow"):
                continue
            allow = item[0] == "allow"
            key, value = item[1], item[2]
        else:
            continue  # not an allow/disallow line
        pattern = value if "%" not in value and value.isascii() else _escape(value)
        score = ((len(pattern) << 1 | allow) << 40) - base - index  # = _score(pattern, allow, base + index)
        rule = (score, not allow and pattern != "", allow, pattern, number, index, key, value)
        add_rule(rule)
        if "*" in pattern or ("$" in pattern and pattern.endswith("$")):
            special.append(_compile_special(rule, pattern))
        else:
            add_plain(rule)
        if allow and "/index.htm" in pattern:
            alternative = _index_page_alternative(pattern)
            if alternative is not None:
                # Tried only when the rule itself does not match: it is shorter, so it scores lower.
                twin = (_score(alternative, True, base + index), False, True, alternative, *rule[_GROUP:])
                special.append(_compile_special(twin, alternative))
    group.rules, group.plain, group.special = rules, plain, special


def _compile_special(rule: tuple, pattern: str) -> tuple:
    """(score, kind, first, rest, rule) for a pattern with ``*`` or a final ``$``, as `_RuleSet.evaluate`
    tries it: ``first`` is the literal the path must start with (the whole body for _EXACT)."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern.rstrip("*")  # a final "*" matches anything: "/a*b*" is "/a*b"
    if "*" not in body:
        return rule[_SCORE], (_EXACT if anchored else _STARTS), body, None, rule
    parts = body.split("*")
    first, middles, last = parts[0], tuple(p for p in parts[1:-1] if p), parts[-1]
    if not middles:
        if not anchored:
            return rule[_SCORE], (_CONTAINS if last else _STARTS), first, last, rule
        return rule[_SCORE], _ENDS, first, last, rule
    return rule[_SCORE], _GENERAL, first, (first, middles, last, anchored), rule


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


def _index_page_alternative(pattern: str) -> str | None:
    """Google treats ``Allow: .../index.htm*`` as also allowing the directory itself (``.../$``)."""
    slash = pattern.rfind("/")
    if slash >= 0 and pattern.startswith("/index.htm", slash):
        return pattern[: slash + 1] + "$"
    return None


class _RuleSet:
    """The merged rules that apply to one agent, indexed so that the deciding rule is found quickly.

    Deciding rule = the highest score among matching rules. Plain prefix patterns sit in one dict, so the
    longest matching one is found with one lookup per distinct length; the few wildcard and end-anchored
    patterns are tried best first, only while they could still beat the prefix found."""

    __slots__ = ("groups", "all_groups", "text", "prefixes", "lengths", "by_pattern", "special", "by_start",
                 "buckets", "decisions", "evidence", "signal_rules")

    def __init__(self, groups: tuple[_Group, ...], all_groups: list[_Group], text: str) -> None:
        self.groups = groups
        self.all_groups = all_groups  # every group of the file, by number
        self.text = text
        plain: list[tuple] = []
        special: list[tuple] = []
        for group in groups:
            if group.rules is None:
                _read_group(group, text)
            plain += group.plain
            special += group.special
        by_pattern = dict(zip(map(_pattern_of, plain), plain))  # built in C; a later duplicate overwrote
        if len(by_pattern) < len(plain):  # the same pattern twice: Allow, then the earlier line, wins
            by_pattern = {}
            for rule in plain:
                known = by_pattern.get(rule[_PATTERN])
                if known is None or rule[_SCORE] > known[_SCORE]:
                    by_pattern[rule[_PATTERN]] = rule
        special.sort(key=_first, reverse=True)
        self.by_pattern = by_pattern
        self.lengths = tuple(sorted(set(map(len, by_pattern)), reverse=True))
        # One C-level startswith over every plain prefix rules them all out at once.
        self.prefixes = tuple(by_pattern)
        self.special = tuple(special)
        # Files with many wildcard rules: a path tries only those whose literal start agrees with its first two
        # characters (lists made per two-character start on first use; see `_specials_for`).
        self.by_start: dict[str, tuple] | None = {} if len(special) > _BUCKET_MIN else None
        self.buckets: dict[str, list] | None = None
        # Evidence is immutable: built once per (agent, rule), and per rule for its shared part.
        self.decisions: dict[tuple, Decision] = {}
        self.evidence: dict[tuple | None, tuple] = {}
        self.signal_rules: dict[str, tuple] = {}  # kind -> this set's Content-Usage / Content-Signal rules

    def evaluate(self, path: str) -> tuple | None:
        """The deciding rule for a path (bytes mapped 1:1 to characters), None when no rule matches."""
        best = None
        if self.prefixes and path.startswith(self.prefixes):
            get = self.by_pattern.get
            size = len(path)
            for length in self.lengths:
                if length <= size:
                    best = get(path[:length])
                    if best is not None:
                        break
        special = self.special
        if special:
            if self.by_start is not None:
                start = path[:2]
                special = self.by_start.get(start)
                if special is None:
                    special = self._specials_for(start)
            floor = -1 if best is None else best[_SCORE]
            for score, kind, first, rest, rule in special:
                if score <= floor:
                    break  # cannot beat the prefix match any more
                if kind == _EXACT:
                    if path == first:
                        return rule
                elif path.startswith(first):
                    if kind == _STARTS:
                        return rule
                    if kind == _CONTAINS:
                        if path.find(rest, len(first)) >= 0:
                            return rule
                    elif kind == _ENDS:
                        if path.endswith(rest) and len(path) - len(rest) >= len(first):
                            return rule
                    elif _wildcard_match(path, rest):
                        return rule
        return best

    def _specials_for(self, start: str) -> tuple:
        """The wildcard rules a path starting with ``start`` (its first two characters) can match, best first:
        those whose literal start is a prefix of ``start`` or begins with it (a rule ``/ab*`` needs ``/a``)."""
        buckets = self.buckets
        if buckets is None:
            buckets = self.buckets = {}
            for entry in self.special:  # by the first two characters of the rule's literal start
                buckets.setdefault(entry[2][:2], []).append(entry)
        found = buckets.get("", []) + buckets.get(start[:1], [])
        if len(start) == 2:
            found += buckets.get(start, ())
        found.sort(key=_first, reverse=True)
        found = tuple(found)
        if len(self.by_start) < 1024:  # bounded: paths start with few distinct pairs, but need not
            self.by_start[start] = found
        return found

    def decision(self, agent: str, rule: tuple | None) -> Decision:
        """The (cached) evidence for ``agent`` given the deciding rule from `evaluate`."""
        key = (agent, rule)
        found = self.decisions.get(key)
        if found is None:
            allowed = rule is None or not rule[_BLOCKS]
            found = self.decisions[key] = Decision(agent, allowed, *self.rule_evidence(rule))
        return found

    def rule_evidence(self, rule: tuple | None) -> tuple[tuple[str, ...], str | None, int | None, str | None]:
        """(group agents, rule as written, line number, pattern) of a deciding rule, computed once per rule."""
        found = self.evidence.get(rule)
        if found is None:
            if rule is None:
                found = (self.groups[0].display, None, None, None)
            else:
                group = self.all_groups[rule[_GROUP]]
                text = _display(f"{rule[_KEY]}: {rule[_VALUE]}".rstrip())
                found = (group.display, text, _line_number(self.text, group, rule[_INDEX]), rule[_PATTERN])
            self.evidence[rule] = found
        return found


def _line_number(text: str, group: _Group, index: int) -> int:
    """1-based line number of the group's ``index``-th line (rules are numbered by line within their group)."""
    if group.first_line is None:
        group.first_line = text.count("\n", 0, group.start) + 1  # once per group, and only for evidence
    return group.first_line + index


def _first(item: tuple) -> object:
    return item[0]


_pattern_of = operator.itemgetter(_PATTERN)


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


def _agent_tokens(agents: tuple[str, ...], exact: bool) -> tuple[str | None, ...]:
    """`_agent_key` of each agent, cached per agent list (the same list is asked of every file)."""
    tokens = _AGENT_TOKENS.get((agents, exact))
    if tokens is None:
        tokens = tuple(_agent_key(agent, exact) for agent in agents)
        if len(_AGENT_TOKENS) < 256:  # bounded: callers passing ever new lists cannot grow it without limit
            _AGENT_TOKENS[(agents, exact)] = tokens
    return tokens


_AGENT_TOKENS: dict[tuple[tuple[str, ...], bool], tuple[str | None, ...]] = {}


def _path_key(url: str) -> str:
    """The URL's path+params+query as matched: its UTF-8 bytes, one character per byte (patterns are ASCII)."""
    m = _HTTP_PATH.match(url) if url.__class__ is str else None
    if m is not None:  # the common case, inlined: one regex match
        path = m.group(1)
        if path[:1] != "/":
            path = "/" + path
    elif isinstance(url, str):
        path = path_params_query(url)
    else:
        raise TypeError(f"url must be str, not {type(url).__name__}")
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
        self._plans: dict[tuple, _Plan] = {}
        self._last_plan: tuple | None = None
        self._scan: dict | None = None
        self._rulesets: dict[tuple[int, ...], _RuleSet] = {}  # by group numbers
        self._signal_scan: tuple[int, list[dict]] | None = None  # (malformed count, first errors), once read
        self._has_signal_rules = False

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def parse(cls, body: str | bytes) -> "RobotsTxt":
        """Parse a robots.txt body (text, or raw bytes in any encoding; bytes are handled as Google does).

        Only the user-agent lines are read here; a group's rules are read when an agent first needs them."""
        text = _prepare(body)
        groups: list[_Group] = []
        by_token: dict[str, list[_Group]] = {}  # lower-cased product token -> groups naming it, file order
        current: _Group | None = None
        line_end = 0  # where the previous user-agent line ended
        for offset, value in _agent_lines(text):
            # A user-agent line after a rule opens a new group; rules before any user-agent line apply to nobody.
            if current is None or _has_rule(text, line_end, offset):
                if current is not None:
                    current.end = offset
                current = _Group(len(groups))
                current.head = offset
                groups.append(current)
            current.agents.append(value)
            if value[:1] == "*" and (len(value) == 1 or value[1] in _WS):
                current.is_global = True
            else:
                # An empty token (e.g. "User-agent: 1bot" names "") can only match an exact "" agent.
                named = by_token.setdefault(_AGENT_TOKEN.match(value).group().lower(), [])
                if not named or named[-1] is not current:
                    named.append(current)
            newline = text.find("\n", offset)
            line_end = current.start = len(text) if newline < 0 else newline + 1
        if current is not None:
            current.end = len(text)
        return cls(text, groups, by_token)

    def _ruleset(self, groups: tuple[_Group, ...]) -> _RuleSet:
        """The rule set of these groups, one per distinct set: agents named by the same groups (``User-agent:
        CCBot`` and ``User-agent: GPTBot`` over one block of rules) share it, so it is evaluated once per URL."""
        key = tuple(g.number for g in groups)
        ruleset = self._rulesets.get(key)
        if ruleset is None:
            ruleset = self._rulesets[key] = _RuleSet(groups, self._groups, self._text)
        return ruleset

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

    def _group_listing(self) -> list[tuple[tuple[str, ...], list[tuple[bool, str, str, int]]]]:
        """Every group as (user-agent values, [(is_allow, key, value, line number)]): for tests and debugging."""
        listing = []
        for group in self._groups:
            rules = [
                (r[_ALLOW], r[_KEY], r[_VALUE], _line_number(self._text, group, r[_INDEX]))
                for r in _group_rules(group, self._text)
            ]
            listing.append((tuple(group.agents), rules))
        return listing

    # ---- agent resolution ---------------------------------------------------------------------------
    def _specific(self, token: str) -> _RuleSet | None:
        """The merged rule set of every group naming ``token`` (lower-cased), None when none names it."""
        ruleset = self._by_token.get(token, _MISSING)
        if ruleset is not _MISSING:
            return ruleset
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
        if ruleset is None:
            return True
        rule = ruleset.evaluate(_path_key(url))
        return rule is None or not rule[_BLOCKS]

    def decide(self, agent: str, url: str, *, star: bool = True, exact_agent: bool = False) -> Decision:
        """Decision with evidence for one agent and URL (see `Decision`; ``star`` as in `blocked_agents`)."""
        ruleset = None if (not star and agent == "*") else self._ruleset_for(agent, star, exact_agent)
        if ruleset is None:
            return Decision(agent=agent, allowed=True)
        return ruleset.decision(agent, ruleset.evaluate(_path_key(url)))

    def _plan(self, agents: Iterable[str], star: bool, exact_agent: bool) -> _Plan:
        """Agents grouped by the rule set that decides for them, so each set is evaluated once per URL."""
        last = self._last_plan  # the same tuple asked again (the bulk case): skip re-hashing it
        if last is not None and last[0] is agents and last[1] == star and last[2] == exact_agent:
            return last[3]
        key = (tuple(agents), star, exact_agent)
        plan = self._plans.get(key)
        if plan is None:
            asked = key[0]
            tokens = _agent_tokens(asked, exact_agent)
            if star and self._groups_by_token.keys().isdisjoint(tokens):
                # No group names any of them (most files): the * groups, if any, decide for every agent.
                ruleset = self._global_rules()
                entries = [] if ruleset is None else [_PlanEntry(ruleset, list(asked), list(range(len(asked))))]
                plan = self._plans[key] = _Plan(entries)
            else:
                plan = self._plans[key] = self._grouped_plan(asked, tokens, star)
        if isinstance(agents, tuple):  # only immutable lists may be recognised by identity
            self._last_plan = (agents, star, exact_agent, plan)
        return plan

    def _grouped_plan(self, asked: tuple[str, ...], tokens: tuple[str | None, ...], star: bool) -> _Plan:
        """The plan when some group names an asked agent: agents grouped by the rule set deciding for them."""
        by_set: dict[int, _PlanEntry] = {}
        for position, (agent, token) in enumerate(zip(asked, tokens)):
            if not star and agent == "*":
                continue  # star=False: only groups that name an agent count
            ruleset = self._specific(token) if token is not None else None
            if ruleset is None and star:
                ruleset = self._global_rules()
            if ruleset is not None:
                entry = by_set.get(id(ruleset))
                if entry is None:
                    entry = by_set[id(ruleset)] = _PlanEntry(ruleset)
                entry.agents.append(agent)
                entry.positions.append(position)
        return _Plan(list(by_set.values()))

    def blocked_agents(
        self, agents: Iterable[str], url: str, star: bool = True, *, exact_agent: bool = False
    ) -> list[str]:
        """The agents (in the given order) that may not fetch ``url``.

        star=True (default, as Apertus): RFC semantics, an agent no group names falls back to the ``*`` group
        and a literal ``*`` is the ``*`` group. star=False: an agent is blocked only when a group naming it
        disallows the URL; ``*`` entries and the fall-back are ignored."""
        path = _path_key(url)
        plan = self._plan(agents, star, exact_agent)
        single = plan.single
        if single is not None:
            rule = single.ruleset.evaluate(path)
            return [] if rule is None or not rule[_BLOCKS] else list(single.agents)
        return list(plan.merged(path)[1])

    def blocking(
        self, agents: Iterable[str], url: str, star: bool = True, *, exact_agent: bool = False
    ) -> tuple[Block, ...]:
        """The rules that refuse ``url`` to any of ``agents``, each a `Block` naming the agents it refuses; an
        empty tuple when every agent may fetch it. The bulk opt-out API: results are immutable and shared, one
        record per deciding rule rather than one per agent (see `blocking_evidence` for per-agent Decisions).
        ``star`` as in `blocked_agents`. Pass the same agent tuple on every call: its plan is then reused
        without re-hashing the list."""
        path = _path_key(url)
        plan = self._plan(agents, star, exact_agent)
        single = plan.single
        if single is None:
            return plan.merged_blocks(path)
        rule = single.ruleset.evaluate(path)  # the common case: one rule set decides for every agent asked
        if rule is None or not rule[_BLOCKS]:
            return ()
        found = single.blocks.get(rule[_SCORE])
        return single.block(rule) if found is None else found

    def blocking_evidence(
        self, agents: Iterable[str], url: str, star: bool = True, *, exact_agent: bool = False
    ) -> list[Decision]:
        """A `Decision` (group, blocking rule, its line) for each agent that may not fetch ``url``, in order."""
        path = _path_key(url)
        plan = self._plan(agents, star, exact_agent)
        single = plan.single
        if single is not None:  # the common case: every agent asked is decided by one rule set
            rule = single.ruleset.evaluate(path)
            if rule is None or not rule[_BLOCKS]:
                return []
            found = single.cache.get(rule[_SCORE])
            return list(single.evidence(rule) if found is None else found)
        return list(plan.merged(path)[0])


    # ---- usage signals: Content-Usage (IETF AIPREF) and Content-Signal (Cloudflare) lines -------------
    # These are extra rule kinds inside a group; they never change how Allow/Disallow decide or where groups
    # begin and end (they are "other" lines to RFC 9309). The group that applies is the one Allow/Disallow
    # use for the agent.
    def _read_signals(self) -> None:
        """Read every signal line of the file once, giving each to the group it sits in."""
        if self._signal_scan is not None:
            return
        for group in self._groups:
            group.signals = []
        count, errors = 0, []
        text = self._text
        if _ANY_SIGNAL.search(text) is not None:
            heads = [g.head for g in self._groups]
            line, counted = 1, 0
            for m in _SIGNAL_LINE.finditer(text):
                start = m.start()
                line += text.count("\n", counted, start)
                counted = start
                kind, value = m.group(1).lower(), m.group(2)[:MAX_LINE_BYTES].rstrip(_LINE_WS)
                written = _display(f"{m.group(1)}: {value}".rstrip())
                index = bisect_right(heads, start) - 1
                try:
                    if index < 0:
                        raise ValueError("outside any user-agent group")
                    pattern, values, problem = _parse_signal(kind, value)
                except ValueError as exc:
                    count += 1
                    if len(errors) < MAX_SIGNAL_ERRORS:
                        errors.append({"line": line, "rule": written, "error": str(exc)})
                    continue
                if problem is not None:  # some entries unusable, the others kept
                    count += 1
                    if len(errors) < MAX_SIGNAL_ERRORS:
                        errors.append({"line": line, "rule": written, "error": problem})
                self._groups[index].signals.append(SignalRule(kind, pattern, values, line, written, index))
                self._has_signal_rules = True
        self._signal_scan = (count, errors)

    @property
    def has_signals(self) -> bool:
        """True when some group holds a usable Content-Usage or Content-Signal line."""
        self._read_signals()
        return self._has_signal_rules

    @property
    def signal_errors(self) -> tuple[int, list[dict]]:
        """(number of malformed Content-Usage / Content-Signal lines, the first 32 as {line, rule, error});
        a malformed line is ignored (it expresses no preference)."""
        self._read_signals()
        count, errors = self._signal_scan
        return count, [dict(e) for e in errors]

    def _set_signals(self, ruleset: _RuleSet, kind: str) -> tuple:
        found = ruleset.signal_rules.get(kind)
        if found is None:
            self._read_signals()
            found = ruleset.signal_rules[kind] = tuple(
                r for g in ruleset.groups for r in (g.signals or ()) if r.kind == kind
            )
        return found

    def signal(self, agent: str, url: str, kind: str = "content-usage", category: str = "train-ai", *,
               star: bool = True, exact_agent: bool = False) -> tuple[str | None, tuple[SignalRule, ...]]:
        """The preference of ``kind`` lines for ``category`` that applies to ``agent`` at ``url``: ``"y"``,
        ``"n"`` or None (no line, or the deciding lines do not name the category), with the deciding lines.
        Longest matching path wins; lines with equal paths combine restrictively (any n, else any y)."""
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"kind must be one of {SIGNAL_KINDS}, got {kind!r}")
        ruleset = None if (not star and agent == "*") else self._ruleset_for(agent, star, exact_agent)
        if ruleset is None:
            return None, ()
        return _decide_signal(self._set_signals(ruleset, kind), _path_key(url), category)

    def signal_refusals(self, agents: Iterable[str], url: str, kind: str = "content-usage",
                        category: str = "train-ai", star: bool = True, *,
                        exact_agent: bool = False) -> tuple[SignalRefusal, ...]:
        """One `SignalRefusal` per rule set whose ``kind`` lines say ``n`` for ``category`` at ``url`` for
        some of ``agents`` (the bulk API; ``star`` as in `blocked_agents`); empty when none refuses."""
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"kind must be one of {SIGNAL_KINDS}, got {kind!r}")
        if self._signal_scan is None:
            self._read_signals()
        if not self._has_signal_rules:  # most files: no usable signal line at all, nothing more to do
            return ()
        plan = self._plan(agents, star, exact_agent)
        path = None
        found = []
        for entry in plan.entries:
            rules = self._set_signals(entry.ruleset, kind)
            if not rules:
                continue
            if path is None:
                path = _path_key(url)
            value, deciding = _decide_signal(rules, path, category)
            if value == "n":
                rule = deciding[0]
                group = tuple(_display(a) for a in self._groups[rule.group].agents)
                found.append(SignalRefusal(kind, tuple(entry.agents), group, rule.text, rule.line, rule.pattern,
                                           category))
        return tuple(found)


class _PlanEntry:
    """Agents (and their positions in the asked list) that one rule set decides for."""

    __slots__ = ("ruleset", "agents", "positions", "cache", "blocks")

    def __init__(
        self, ruleset: _RuleSet, agents: list[str] | None = None, positions: list[int] | None = None
    ) -> None:
        self.ruleset = ruleset
        self.agents: list[str] = [] if agents is None else agents
        self.positions: list[int] = [] if positions is None else positions
        self.cache: dict[int, tuple[Decision, ...]] = {}  # by rule score (unique within a rule set)
        self.blocks: dict[int, tuple[Block]] = {}  # the same, as one shared Block

    def evidence(self, rule: tuple) -> tuple[Decision, ...]:
        """The Decisions of all member agents blocked by ``rule``, built once per rule (in C: one tuple each)."""
        found = self.cache.get(rule[_SCORE])
        if found is None:
            evidence = (False, *self.ruleset.rule_evidence(rule))  # one tuple, shared by the agents
            found = tuple(map(_new_decision, repeat(Decision), zip(self.agents, repeat(evidence))))
            self.cache[rule[_SCORE]] = found
        return found

    def block(self, rule: tuple) -> tuple[Block]:
        """``(Block,)`` for the member agents blocked by ``rule``, built once per rule."""
        found = self.blocks.get(rule[_SCORE])
        if found is None:
            found = self.blocks[rule[_SCORE]] = (Block(tuple(self.agents), *self.ruleset.rule_evidence(rule)),)
        return found


class _Plan:
    """The plan entries for one agent list, and the merged answers of several entries, cached by outcome."""

    __slots__ = ("entries", "single", "answers", "block_answers")

    def __init__(self, entries: list[_PlanEntry]) -> None:
        self.entries = entries
        self.single = entries[0] if len(entries) == 1 else None
        self.answers: dict[tuple, tuple[tuple[Decision, ...], tuple[str, ...]]] = {}
        self.block_answers: dict[tuple, tuple[Block, ...]] = {}

    def _hits(self, path: str) -> tuple:
        """Per entry, the rule blocking ``path`` for its agents, or None."""
        hits = []
        for entry in self.entries:
            rule = entry.ruleset.evaluate(path)
            hits.append(rule if rule is not None and rule[_BLOCKS] else None)
        return tuple(hits)

    def merged(self, path: str) -> tuple[tuple[Decision, ...], tuple[str, ...]]:
        """(decisions, agents) blocked by any entry, in the order the agents were asked."""
        key = self._hits(path)
        found = self.answers.get(key)
        if found is None:
            pairs = []
            for entry, rule in zip(self.entries, key):
                if rule is not None:
                    pairs.extend(zip(entry.positions, entry.evidence(rule)))
            pairs.sort(key=_first)
            decisions = tuple(d for _p, d in pairs)
            found = self.answers[key] = (decisions, tuple(d.agent for d in decisions))
        return found

    def merged_blocks(self, path: str) -> tuple[Block, ...]:
        """The Blocks of every entry that blocks ``path`` (entries in the order of their first agent)."""
        key = self._hits(path)
        found = self.block_answers.get(key)
        if found is None:
            found = self.block_answers[key] = tuple(
                entry.block(rule)[0] for entry, rule in zip(self.entries, key) if rule is not None
            )
        return found


def is_allowed(robots_txt: str | bytes, user_agent: str, url: str, *, exact_agent: bool = False) -> bool:
    """One-shot check: may ``user_agent`` fetch ``url`` under ``robots_txt``? (Parse once with `RobotsTxt`
    when deciding more than one URL.) ``exact_agent`` as in `RobotsTxt.is_allowed`."""
    return RobotsTxt.parse(robots_txt).is_allowed(user_agent, url, exact_agent=exact_agent)


# --------------------------------------------------------------------------------------------------------
# Usage signal lines, RFC 9651 dictionaries and robots-style path patterns (shared with TDMRep)
# --------------------------------------------------------------------------------------------------------
SIGNAL_KINDS = ("content-usage", "content-signal")
MAX_SIGNAL_ERRORS = 32  # malformed signal lines kept as evidence per file (all are counted)
_ANY_SIGNAL = re.compile(r"^[ \t\v\f]*content-(?:usage|signal)[ \t\v\f]*:", re.I | re.M)
_SIGNAL_LINE = re.compile(r"^[ \t\v\f]*(content-usage|content-signal)[ \t\v\f]*:[ \t\v\f]*([^#\n\x00]*)",
                          re.I | re.M)
_PATH_AND_REST = re.compile(r"([^ \t]*)[ \t]*(.*)", re.S)
_YES_NO = {"yes": "y", "no": "n"}


class SignalRule(NamedTuple):
    """One Content-Usage or Content-Signal line of a group: ``pattern`` the canonical path it is scoped to
    (``/`` when it names none), ``values`` the (category, ``y``/``n``) pairs it states, in order, duplicates
    resolved (last wins); ``line`` its 1-based number, ``text`` the line as written, ``group`` its group."""

    kind: str
    pattern: str
    values: tuple[tuple[str, str], ...]
    line: int
    text: str
    group: int

    def value(self, category: str) -> str | None:
        for key, value in self.values:
            if key == category:
                return value
        return None


class SignalRefusal(NamedTuple):
    """A signal line that refuses ``category`` (``train-ai`` / ``ai-train``) to ``agents``: the evidence of a
    bulk decision (group = the user-agent values of the line's group, as written)."""

    kind: str
    agents: tuple[str, ...]
    group: tuple[str, ...]
    rule: str
    line: int
    pattern: str
    category: str


def _parse_signal(kind: str, value: str) -> tuple[str, tuple[tuple[str, str], ...], str | None]:
    """(canonical path pattern, values, problem) of a signal line's value; ValueError when unusable.

    ``Content-Usage: [path] <RFC 9651 dictionary>``: a malformed dictionary makes the whole line unusable
    (RFC 9651 parsing fails as a whole); keys whose value is not the token ``y`` or ``n`` are ignored.
    ``Content-Signal: [path] key=yes|no, ...`` (not defined as a structured field): unusable entries are
    dropped, reported as ``problem``, and the others kept."""
    path = "/"
    if value[:1] in ("/", "*"):
        path, value = _PATH_AND_REST.match(value).groups()
    pattern = path if "%" not in path and path.isascii() else _escape(path)
    problem = None
    if kind == "content-usage":
        members = parse_sf_dictionary(_display(value))
        values = {k: str(v) for k, v in members.items() if isinstance(v, Token) and v in ("y", "n")}
    else:
        values = {}
        bad = []
        for part in value.split(","):
            key, sep, answer = part.partition("=")
            key, answer = key.strip(_WS).lower(), answer.strip(_WS).lower()
            if not part.strip(_WS):
                continue
            if not sep or not key or answer not in _YES_NO:
                bad.append(part.strip(_WS))
                continue
            values.pop(key, None)
            values[key] = _YES_NO[answer]
        if bad:
            problem = "entries not key=yes|no: " + ", ".join(_display(b)[:64] for b in bad[:4])
            if not values:
                raise ValueError(problem)
    return pattern, tuple(values.items()), problem


def _decide_signal(rules: tuple, path: str, category: str) -> tuple[str | None, tuple]:
    """Longest matching path wins; equal paths combine restrictively (any n, else any y, else None)."""
    best, chosen = -1, []
    for rule in rules:
        pattern = rule.pattern
        if len(pattern) >= best and _pattern_match(pattern, path):
            if len(pattern) > best:
                best, chosen = len(pattern), [rule]
            else:
                chosen.append(rule)
    if not chosen:
        return None, ()
    answers = [r.value(category) for r in chosen]
    for wanted in ("n", "y"):
        if wanted in answers:
            return wanted, tuple(r for r, a in zip(chosen, answers) if a == wanted)
    return None, tuple(chosen)


def _pattern_match(pattern: str, path: str) -> bool:
    """Robots-style match of a canonical pattern against a path (prefix; ``*`` any run; final ``$`` end)."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    if "*" not in body:
        return path == body if anchored else path.startswith(body)
    parts = body.split("*")
    return _wildcard_match(path, (parts[0], tuple(p for p in parts[1:-1] if p), parts[-1], anchored))


def path_matches(pattern: str, url: str) -> bool:
    """Does a robots.txt-style path pattern (``*`` any run, a final ``$`` anchors the end; escaped as
    `escape_pattern` does) match the path+query of ``url`` (a URL or a path starting with ``/``)?"""
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be str, not {type(pattern).__name__}")
    return _pattern_match(escape_pattern(pattern), _path_key(url))


class Token(str):
    """An RFC 9651 token (told apart from a string: ``n`` is a token, ``"n"`` a string)."""

    __slots__ = ()


_SF_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_SF_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+.^_`|~0-9A-Za-z:/-]*")
_SF_NUMBER = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_SF_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_SF_STRING_CHARS = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')


def parse_sf_dictionary(text: str) -> dict[str, object]:
    """Parse an RFC 9651 Dictionary: ``{key: value}`` in order, a member without a value is True, an inner
    list a tuple, parameters dropped, duplicate keys: the last wins. Tokens come back as `Token`, strings as
    str, numbers as int/float, byte sequences as the base64 text, dates as ``("date", n)``. Raises
    ValueError (saying where) on anything the RFC rejects; the whole field is then to be ignored."""
    s = text.strip(" ")
    n, i = len(s), 0
    out: dict[str, object] = {}
    if n == 0:
        return out
    while True:
        m = _SF_KEY.match(s, i)
        if m is None:
            raise ValueError(f"bad dictionary key at character {i}")
        key, i = m.group(), m.end()
        if i < n and s[i] == "=":
            if i + 1 < n and s[i + 1] == "(":
                value, i = _sf_inner_list(s, i + 1)
            else:
                value, i = _sf_bare(s, i + 1)
            i = _sf_params(s, i)
        else:
            value, i = True, _sf_params(s, i)
        out.pop(key, None)  # last wins, and takes the last position
        out[key] = value
        while i < n and s[i] in " \t":
            i += 1
        if i == n:
            return out
        if s[i] != ",":
            raise ValueError(f"expected ',' at character {i}")
        i += 1
        while i < n and s[i] in " \t":
            i += 1
        if i == n:
            raise ValueError("trailing comma")


def _sf_params(s: str, i: int) -> int:
    while i < len(s) and s[i] == ";":
        i += 1
        while i < len(s) and s[i] == " ":
            i += 1
        m = _SF_KEY.match(s, i)
        if m is None:
            raise ValueError(f"bad parameter key at character {i}")
        i = m.end()
        if i < len(s) and s[i] == "=":
            _, i = _sf_bare(s, i + 1)
    return i


def _sf_inner_list(s: str, i: int) -> tuple[tuple, int]:
    i += 1  # "("
    items = []
    while True:
        while i < len(s) and s[i] == " ":
            i += 1
        if i >= len(s):
            raise ValueError("unterminated inner list")
        if s[i] == ")":
            return tuple(items), _sf_params(s, i + 1)
        value, i = _sf_bare(s, i)
        items.append(value)
        i = _sf_params(s, i)
        if i < len(s) and s[i] not in " )":
            raise ValueError(f"bad inner list at character {i}")


def _sf_bare(s: str, i: int) -> tuple[object, int]:
    c = s[i] if i < len(s) else ""
    if c == "-" or c.isdigit() and c.isascii():
        m = _SF_NUMBER.match(s, i)
        if m is None:
            raise ValueError(f"bad number at character {i}")
        whole, frac = m.groups()
        if frac is None:
            if len(whole) > 15:
                raise ValueError(f"integer too long at character {i}")
            return int(m.group()), m.end()
        if len(whole) > 12 or len(frac) > 3:
            raise ValueError(f"bad decimal at character {i}")
        return float(m.group()), m.end()
    if c == '"' or (c == "%" and s[i + 1 : i + 2] == '"'):
        start = i + (2 if c == "%" else 1)
        parts, j = [], start
        while True:
            m = _SF_STRING_CHARS.match(s, j)
            parts.append(m.group())
            j = m.end()
            if j >= len(s):
                raise ValueError("unterminated string")
            if s[j] == '"':
                return "".join(parts), j + 1
            if s[j] == "\\" and s[j + 1 : j + 2] in ('"', "\\"):
                parts.append(s[j + 1])
                j += 2
                continue
            raise ValueError(f"bad character in string at character {j}")
    if c == "*" or c.isalpha() and c.isascii():
        m = _SF_TOKEN.match(s, i)
        return Token(m.group()), m.end()
    if c == ":":
        m = _SF_BYTES.match(s, i)
        if m is None:
            raise ValueError(f"bad byte sequence at character {i}")
        return m.group(1), m.end()
    if c == "?":
        if s[i + 1 : i + 2] in ("0", "1"):
            return s[i + 1] == "1", i + 2
        raise ValueError(f"bad boolean at character {i}")
    if c == "@":
        m = _SF_NUMBER.match(s, i + 1)
        if m is None or m.group(2) is not None:
            raise ValueError(f"bad date at character {i}")
        return ("date", int(m.group())), m.end()
    raise ValueError(f"no value at character {i}")
