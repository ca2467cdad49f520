"""The robots.txt opt-out policy: given a document's URL (and crawl date), keep it or drop it, with evidence.

`OptoutPolicy.decide` is what the optout pipeline block calls for every document, so it is built for a hot
path: each origin's snapshot history is built once (bodies parsed once per sha256, LRU-bounded), and a URL
costs one split, one dict lookup and the matcher's rule walk.

Definitions (documented here because the manifest's evidence refers to them):

Lookup
    RFC 9309 2.3: the robots.txt of ``scheme://host:port`` governs that origin only. The URL's netloc is
    normalised with `curate.robots.cache.normalize_netloc`; http and https are separate origins (imports
    write a row for each). With ``registered_domain_fallback`` an origin with no snapshot falls back to its
    registered domain (public suffix list bundled with tldextract, no network) on the same scheme and port;
    the evidence then has ``"fallback": "registered_domain"``.

Policies (which snapshots of the origin decide)
    ``retroactive``  the newest snapshot decides for every crawl year (Apertus).
    ``as-of-crawl``  the newest snapshot fetched at or before the document's crawl date. When every snapshot
                     is newer than the crawl, the oldest one decides (the closest evidence of the site's
                     wishes we have; ``"selection": "oldest_after_crawl"``). A document without a crawl date
                     is decided by the newest snapshot (``"selection": "newest_no_crawl_date"``).
    ``strictest``    every snapshot is evaluated; the document is dropped when any refuses. The evidence
                     names the newest refusing snapshot and lists all of them under ``refused_by``.

Status semantics (``status_rules``; a row with an ``error`` uses the error rules, else its HTTP status)
    keys: an exact status (``"429"``), a class (``"5xx"``), ``"error"`` or ``"error:<code>"``
    (e.g. ``"error:timeout"``); values: ``"parse"`` (status keys only), ``"allow"``, ``"disallow"``.
    Defaults: 2xx parse the body; 3xx (redirects not resolved) and 4xx allow (RFC 9309 "unavailable");
    5xx disallow all (RFC 9309 "unreachable"); a network error allows (Apertus: no usable robots.txt means
    the data counts as usable); no snapshot at all allows (``"robots": "not_cached"``). A truncated body is
    parsed without its last, possibly cut, line.

Granularity
    ``url``   the URL's path and query decide.
    ``host``  the origin's root decides: every URL of an origin gets the decision for ``scheme://host/``,
              i.e. the origin is dropped wholesale when any listed agent may not fetch ``/``.

Reason codes: ``optout.robots`` (a rule blocked an agent), ``optout.server_error`` (5xx, disallow all),
``optout.fetch_error`` (a network error under a disallow rule), ``optout.status`` (any other status under a
disallow rule). Kept documents have reason None and evidence such as ``{"robots": "allowed"}`` or
``{"robots": "not_cached"}``.

Signals beyond Allow/Disallow (``signals``; all five by default, ``["robots"]`` reproduces Apertus)
    ``robots``          Allow/Disallow and the status rules above.
    ``aipref``          IETF AIPREF ``Content-Usage`` lines of the robots.txt group that applies to an agent
                        (``train-ai=n`` refuses; evidence under ``aipref``: the line, its number, the
                        snapshot) and the page's ``Content-Usage`` header. Reason ``optout.aipref``.
    ``content-signal``  Cloudflare ``Content-Signal`` lines (``ai-train=no`` refuses); no line = no
                        preference. Reason ``optout.content_signal``.
    ``tdmrep``          W3C TDMRep: the origin's ``/.well-known/tdmrep.json`` (cache rows of kind
                        ``tdmrep``, chosen by the same policy as robots.txt; the first matching entry
                        decides), overridden by the page's ``tdm-reservation`` header, itself overridden by
                        its meta tag; absence never resets. 1 refuses (``optout.tdmrep``). Only a 2xx
                        tdmrep.json is read: any other status, a fetch error or a broken file declares
                        nothing (TDMRep has no "unreachable means reserved" rule); errors are recorded.
    ``noai``            ``X-Robots-Tag`` / ``<meta name="robots">`` noai, noimageai, noml
                        (``optout.noai``).
    Robots.txt signal lines and tdmrep.json come from the cache; headers and meta tags from the page
    (``page``, see `curate.robots.signals`). When several signals refuse, the reason is the first in
    `SIGNALS` order and ``refused_by_signals`` lists them all; ``decided_by`` names the deciding one.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Generic, Hashable, Literal, Sequence, TypeVar

from curate.robots.cache import RobotsCache, Snapshot, origin_of_url, parse_timestamp
from curate.robots.matcher import RobotsTxt
from curate.robots.signals import _agent_names, page_refusals
from curate.robots.tdmrep import TdmRep

__all__ = [
    "DEFAULT_STATUS_RULES",
    "GRANULARITIES",
    "POLICIES",
    "SIGNALS",
    "SIGNAL_REASONS",
    "OptoutDecision",
    "OptoutPolicy",
    "parse_crawl_date",
]

POLICIES = ("retroactive", "as-of-crawl", "strictest")
SIGNALS = ("robots", "tdmrep", "noai", "aipref", "content-signal")  # also the order in which reasons win
SIGNAL_REASONS = {
    "robots": ("optout.robots", "optout.server_error", "optout.fetch_error", "optout.status"),
    "tdmrep": ("optout.tdmrep",),
    "noai": ("optout.noai",),
    "aipref": ("optout.aipref",),
    "content-signal": ("optout.content_signal",),
}
_EVIDENCE_KEY = {"aipref": "aipref", "content-signal": "content_signal", "noai": "noai"}
_NOT_CACHED = {"state": "not_cached"}  # shared, read-only evidence
GRANULARITIES = ("url", "host")
DEFAULT_STATUS_RULES: dict[str, str] = {
    "1xx": "allow",
    "2xx": "parse",
    "3xx": "allow",
    "4xx": "allow",
    "5xx": "disallow",
    "error": "allow",
}
_RULE_VALUES = ("parse", "allow", "disallow")
_STATUS_KEY = re.compile(r"^(?:[1-5]\d\d|[1-5]xx)$")
_CC_DUMP = re.compile(r"^CC-MAIN-(\d{4})-(\d{2})$")
_STATE_OF_CLASS = {1: "other_status", 2: "ok", 3: "redirect", 4: "unavailable", 5: "unreachable"}
_DEFAULT_MEMO = 200_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class OptoutDecision:
    """Keep (``allowed``) or drop a document; ``reason`` is a dotted code when dropped; ``evidence`` is
    JSON-serialisable (see the module docstring). Treat ``evidence`` as read-only."""

    allowed: bool
    reason: str | None
    evidence: dict[str, Any] = field(default_factory=dict)


class _LRU(Generic[K, V]):
    """A small least-recently-used memo (bounded memory over millions of documents)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        data = self._data
        try:
            value = data[key]
            data.move_to_end(key)
            return value
        except KeyError:
            value = make()
            data[key] = value
            if len(data) > self.maxsize:
                data.popitem(last=False)
            return value


@dataclass
class _Entry:
    """One snapshot as the policy needs it: no body, the parsed rules instead."""

    stamp: datetime
    status: int | None
    error: str | None
    rule: str  # parse | allow | disallow
    state: str  # the robots.txt state when not parsed: unavailable, unreachable, fetch_error, ...
    robots: RobotsTxt | None
    meta: dict[str, Any]
    host_outcome: tuple | None = None  # memo for host granularity
    host_signals: dict | None = None  # the same for the signal lines
    signal_errors: dict | None = None  # malformed Content-Usage / Content-Signal lines, read once
    has_signals: bool = False  # parsed, and some group has a usable signal line


@dataclass
class _TdmEntry:
    """One tdmrep.json snapshot: its parsed file (None unless a 2xx body) and state."""

    stamp: datetime
    state: str  # parsed | error | no_file | fetch_error | redirect | unreachable | other_status
    tdm: TdmRep | None
    meta: dict[str, Any]
    memo: dict = field(default_factory=dict)  # (selection, rule index) -> evidence, shared (read-only)


@dataclass
class _History:
    looked_up: str  # scheme://host the snapshots belong to
    fallback: bool
    entries: list[_Entry]
    stamps: list[datetime]


def parse_crawl_date(value: datetime | date | str | None) -> datetime | None:
    """A crawl date as a UTC datetime: a datetime, a date, an ISO 8601 string or a Common Crawl dump id
    (``CC-MAIN-2019-35`` = Monday of ISO week 35 of 2019). None stays None; anything else is a ValueError."""
    if value is None:
        return None
    if isinstance(value, str):
        match = _CC_DUMP.match(value.strip())
        if match:
            year, week = int(match.group(1)), int(match.group(2))
            try:
                return datetime.fromisocalendar(year, week, 1).replace(tzinfo=timezone.utc)
            except ValueError:
                raise ValueError(f"not a valid Common Crawl dump week: {value!r}") from None
    return parse_timestamp(value)


def _check_rules(status_rules: dict | None) -> dict[str, str]:
    rules = dict(DEFAULT_STATUS_RULES)
    for key, value in (status_rules or {}).items():
        key = str(key).strip().lower()
        if value not in _RULE_VALUES:
            raise ValueError(f"status_rules[{key!r}]: expected one of {_RULE_VALUES}, got {value!r}")
        if key == "error" or key.startswith("error:"):
            if value == "parse":
                raise ValueError(f"status_rules[{key!r}]: a fetch error has no body to parse; use allow or disallow")
        elif not _STATUS_KEY.match(key):
            raise ValueError(
                f"status_rules key {key!r} is not a status (e.g. '429'), a class ('5xx'), 'error' or 'error:<code>'"
            )
        rules[key] = value
    return rules


def _snapshot_meta(snapshot: Snapshot) -> dict:
    """What the evidence says of the snapshot a decision used."""
    return {"fetched_at": snapshot.fetched_at.isoformat(), "status": snapshot.status, "error": snapshot.error,
            "sha256": snapshot.sha256, "truncated": snapshot.truncated, "final_url": snapshot.final_url}


def _parse_body(body: bytes, truncated: bool) -> RobotsTxt | None:
    if truncated:
        # The cap may have cut the last line mid-pattern; a cut rule would decide wrongly, so drop it.
        cut = max(body.rfind(b"\n"), body.rfind(b"\r"))
        body = body[: cut + 1] if cut >= 0 else b""
    try:
        return RobotsTxt.parse(body)
    except Exception:  # the matcher is meant never to fail; if it does, the state says so in the evidence
        return None


class OptoutPolicy:
    """Decide documents against a robots.txt cache (see the module docstring for every definition)."""

    def __init__(
        self,
        cache: RobotsCache,
        agents: Sequence[str],
        policy: Literal["retroactive", "as-of-crawl", "strictest"] = "retroactive",
        star: bool = True,
        granularity: Literal["url", "host"] = "url",
        registered_domain_fallback: bool = False,
        status_rules: dict | None = None,
        memo_size: int = _DEFAULT_MEMO,
        signals: Sequence[str] = SIGNALS,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
        agents = list(agents)
        if not agents or not all(isinstance(a, str) and a.strip() for a in agents):
            raise ValueError(f"agents must be a non-empty list of user-agent names, got {agents!r}")
        signals = list(signals)
        unknown = [s for s in signals if s not in SIGNALS]
        if unknown or not signals:
            raise ValueError(f"signals must be a non-empty list of {SIGNALS}, got {signals!r}")
        self.signals = tuple(s for s in SIGNALS if s in signals)  # canonical order
        self._on = frozenset(self.signals)
        self._only_robots = self.signals == ("robots",)
        self._names = _agent_names(agents)
        self.cache = cache
        self.agents = tuple(agents)  # a tuple: RobotsTxt reuses its per-file plan by identity
        self.policy = policy
        self.star = star
        self.granularity = granularity
        self.registered_domain_fallback = registered_domain_fallback
        self.status_rules = _check_rules(status_rules)
        self._histories: _LRU[tuple[str, str], _History | None] = _LRU(memo_size)
        self._parsed: _LRU[tuple[str, bool], RobotsTxt | None] = _LRU(memo_size)
        self._tdm_histories: _LRU[tuple[str, str], _History | None] = _LRU(memo_size)
        self._tdm_parsed: _LRU[tuple[str, bool], TdmRep] = _LRU(memo_size)
        self._extract: Any = None

    # ---- public ---------------------------------------------------------------------------------------
    def decide(self, url: str, crawl_date: datetime | date | str | None = None,
               page: dict | None = None) -> OptoutDecision:
        """Keep or drop the document at ``url`` crawled at ``crawl_date`` (used by ``as-of-crawl`` only);
        ``page`` holds the signals the page itself carried (`curate.robots.signals`, WARC input).

        Raises ValueError for a crawl date that cannot be read; a URL without an http(s) origin is kept with
        ``{"robots": "no_origin"}`` (its page signals still apply)."""
        origin = origin_of_url(url) if isinstance(url, str) else None
        found: dict[str, Any] = {}  # robots.txt signal lines refusing, by signal
        if origin is None:
            decision = OptoutDecision(True, None, {"robots": "no_origin", "policy": self.policy})
        else:
            decision = self._robots_decision(origin, url, crawl_date, found)
        if self._only_robots:
            return decision
        evidence = decision.evidence
        refused = {"robots": decision.reason} if not decision.allowed else {}
        for signal, items in found.items():
            refused[signal] = SIGNAL_REASONS[signal][0]
            evidence[_EVIDENCE_KEY[signal]] = items
        page_found, levels, page_errors = page_refusals(page, self.agents, self._on, self._names)
        for signal, items in page_found.items():
            refused[signal] = SIGNAL_REASONS[signal][0]
            key = _EVIDENCE_KEY[signal]
            evidence[key] = evidence.get(key, []) + items
        if "tdmrep" in self._on:
            tdm = self._tdm_decision(origin, url, crawl_date, levels)
            evidence["tdmrep"] = tdm
            if tdm["tdm-reservation"] == 1:
                refused["tdmrep"] = "optout.tdmrep"
        if page_errors:
            evidence["page_errors"] = page_errors
        if not refused:
            return OptoutDecision(True, None, evidence)
        order = [s for s in SIGNALS if s in refused]
        evidence["decided_by"] = order[0]
        evidence["refused_by_signals"] = order
        return OptoutDecision(False, refused[order[0]], evidence)

    def _robots_decision(self, origin: tuple[str, str], url: str, crawl_date: Any, found: dict) -> OptoutDecision:
        """The robots.txt part: Allow/Disallow (``robots``) and, into ``found``, refusing signal lines."""
        history = self._histories.get_or_make(origin, lambda: self._history(*origin))
        origin_text = f"{origin[0]}://{origin[1]}"
        if history is None:
            return OptoutDecision(True, None, {"robots": "not_cached", "policy": self.policy, "origin": origin_text})
        target = url if self.granularity == "url" else history.looked_up + "/"
        if self.policy == "strictest":
            return self._strictest(history, origin_text, target, found)
        entry, selection, crawl = self._select(history, crawl_date)
        allowed, reason, state, blocking = self._evaluate(entry, target)
        evidence = self._evidence(history, origin_text, entry, state, blocking)
        evidence["selection"] = selection
        if self.policy == "as-of-crawl":
            evidence["crawl_date"] = None if crawl is None else crawl.isoformat()
        if not self._only_robots:
            found.update(self._line_signals(entry, target))
            if entry.signal_errors:
                evidence["signal_errors"] = entry.signal_errors
        return OptoutDecision(allowed, reason, evidence)

    # ---- robots.txt signal lines ----------------------------------------------------------------------
    def _line_signals(self, entry: _Entry, target: str) -> dict[str, list[dict]]:
        """Refusing Content-Usage (``aipref``) and Content-Signal lines of one snapshot for ``target``."""
        if not entry.has_signals:  # most files: no signal line, nothing to evaluate per URL
            return {}
        if self.granularity == "host" and entry.host_signals is not None:
            return entry.host_signals
        out: dict[str, list[dict]] = {}
        for signal, kind, category in (("aipref", "content-usage", "train-ai"),
                                       ("content-signal", "content-signal", "ai-train")):
            if signal not in self._on:
                continue
            refusals = entry.robots.signal_refusals(self.agents, target, kind, category, star=self.star)
            if refusals:
                out[signal] = [
                    {"source": "robots.txt", "agents": list(r.agents), "group": list(r.group), "rule": r.rule,
                     "line": r.line, "pattern": r.pattern, "category": r.category,
                     "snapshot": {"fetched_at": entry.meta["fetched_at"], "sha256": entry.meta["sha256"]}}
                    for r in refusals
                ]
        if self.granularity == "host":
            entry.host_signals = out
        return out

    # ---- TDMRep ---------------------------------------------------------------------------------------
    def _tdm_decision(self, origin: tuple[str, str] | None, url: str, crawl_date: Any, levels: dict) -> dict:
        """TDMRep with its precedence: the well-known file, then the header, then the meta tag."""
        well_known = self._tdm_file(origin, url, crawl_date)
        value, source = well_known.get("tdm-reservation"), "well-known" if well_known.get(
            "tdm-reservation") is not None else None
        out: dict[str, Any] = {}
        for level in ("header", "meta"):  # each overrides what came before; absence never resets
            if level in levels:
                level_value, written = levels[level]
                out[level] = written
                if value is not None and level_value != value:
                    out.setdefault("overrides", []).append({"source": source, "tdm-reservation": value})
                value, source = level_value, level
        if "policy" in levels:
            out["tdm-policy"] = levels["policy"]
        return {"tdm-reservation": value, "decided_by": source, "well_known": well_known, **out}

    def _tdm_file(self, origin: tuple[str, str] | None, url: str, crawl_date: Any) -> dict:
        if origin is None:
            return {"state": "no_origin"}
        history = self._tdm_histories.get_or_make(origin, lambda: self._history(*origin, kind="tdmrep"))
        if history is None:
            return _NOT_CACHED
        target = url if self.granularity == "url" else history.looked_up + "/"
        if self.policy == "strictest":
            outcomes = [(e, self._tdm_evaluate(e, target)) for e in history.entries]
            reserving = [(e, o) for e, o in outcomes if o.get("tdm-reservation") == 1]
            entry, outcome = reserving[-1] if reserving else outcomes[-1]
            outcome = dict(outcome, selection="newest_reserving" if reserving else "all",
                           snapshots_checked=len(outcomes))
        else:
            entry, selection, _crawl = self._select(history, crawl_date)
            rule = entry.tdm.match(target) if entry.tdm is not None and entry.tdm.error is None else None
            key = (selection, None if rule is None else rule.index)
            found = entry.memo.get(key)  # evidence is read-only: one dict per snapshot, selection and rule
            if found is not None:
                return found
            outcome = dict(self._tdm_evaluate(entry, target), selection=selection)
            if len(entry.memo) < 256:
                entry.memo[key] = outcome
        outcome["snapshot"] = dict(entry.meta)
        if history.fallback:
            outcome["fallback"] = "registered_domain"
        return outcome

    @staticmethod
    def _tdm_evaluate(entry: _TdmEntry, target: str) -> dict:
        if entry.tdm is None:
            return {"state": entry.state}
        tdm = entry.tdm
        if tdm.error is not None:
            return {"state": "error", "error": tdm.error}
        rule = tdm.match(target)
        out: dict[str, Any]
        if rule is None:
            out = {"state": "no_match"}
        else:
            state = {1: "reserved", 0: "not_reserved"}.get(rule.reservation, "unset")
            out = {"state": state, "tdm-reservation": rule.reservation, "rule": rule.to_dict()}
        if tdm.entry_errors:
            out["file_errors"] = {"count": tdm.entry_errors, "first": list(tdm.errors[:3])}
        return out

    # ---- selection and evaluation ---------------------------------------------------------------------
    def _select(self, history: _History, crawl_date: Any) -> tuple[_Entry, str, datetime | None]:
        if self.policy == "retroactive":
            return history.entries[-1], "newest", None
        crawl = parse_crawl_date(crawl_date)
        if crawl is None:
            return history.entries[-1], "newest_no_crawl_date", None
        index = bisect_right(history.stamps, crawl)
        if index == 0:
            return history.entries[0], "oldest_after_crawl", crawl
        return history.entries[index - 1], "at_or_before_crawl", crawl

    def _strictest(self, history: _History, origin_text: str, target: str, found: dict | None = None
                   ) -> OptoutDecision:
        refusals = []
        for entry in history.entries:
            outcome = self._evaluate(entry, target)
            if not outcome[0]:
                refusals.append((entry, outcome))
            if found is not None and not self._only_robots:
                found.update(self._line_signals(entry, target))  # entries are oldest first: the newest wins
        if not refusals:
            newest = history.entries[-1]
            _, _, state, blocking = self._evaluate(newest, target)
            evidence = self._evidence(history, origin_text, newest, state, blocking)
            evidence.update(selection="all", snapshots_checked=len(history.entries))
            return OptoutDecision(True, None, evidence)
        entry, (_, reason, state, blocking) = refusals[-1]
        evidence = self._evidence(history, origin_text, entry, state, blocking)
        evidence.update(
            selection="newest_refusing",
            snapshots_checked=len(history.entries),
            refused_by=[dict(e.meta, robots=o[2]) for e, o in refusals],
        )
        return OptoutDecision(False, reason, evidence)

    def _evaluate(self, entry: _Entry, target: str) -> tuple[bool, str | None, str, list[dict]]:
        """(allowed, reason, robots state, blocking agents) of one snapshot for one URL."""
        if self.granularity == "host" and entry.host_outcome is not None:
            return entry.host_outcome
        if "robots" not in self._on:  # the file is still read for its signal lines
            outcome: tuple = (True, None, "not_honoured", [])
        elif entry.rule == "parse" and entry.robots is not None:
            blocks = entry.robots.blocking(self.agents, target, star=self.star)
            if blocks:  # one record per refused agent, grouped by the rule that refuses it
                blocking = [
                    {"agent": agent, "group": list(b.group), "rule": b.rule, "line": b.line}
                    for b in blocks
                    for agent in b.agents
                ]
                outcome = (False, "optout.robots", "disallowed", blocking)
            else:
                outcome = (True, None, "allowed", [])
        elif entry.rule == "disallow":
            if entry.error is not None:
                reason = "optout.fetch_error"
            elif entry.status is not None and 500 <= entry.status < 600:
                reason = "optout.server_error"
            else:
                reason = "optout.status"
            outcome = (False, reason, entry.state, [])
        else:
            outcome = (True, None, entry.state, [])
        if self.granularity == "host":
            entry.host_outcome = outcome
        return outcome

    def _evidence(self, history: _History, origin_text: str, entry: _Entry, state: str, blocking: list) -> dict:
        evidence: dict[str, Any] = {
            "robots": state,
            "policy": self.policy,
            "granularity": self.granularity,
            "origin": origin_text,
            "looked_up": history.looked_up,
            "snapshot": dict(entry.meta),
        }
        if history.fallback:
            evidence["fallback"] = "registered_domain"
        if blocking:
            evidence["agents"] = [dict(b) for b in blocking]
        return evidence

    # ---- histories ------------------------------------------------------------------------------------
    def _history(self, scheme: str, host: str, kind: str = "robots") -> _History | None:
        snapshots = self.cache.snapshots(scheme, host, kind)
        fallback = False
        if not snapshots and self.registered_domain_fallback:
            parent = self._registered_domain(host)
            if parent is not None:
                snapshots, host, fallback = self.cache.snapshots(scheme, parent, kind), parent, True
        if not snapshots:
            return None
        make = self._entry if kind == "robots" else self._tdm_entry
        entries = [make(s) for s in snapshots]
        return _History(f"{scheme}://{host}", fallback, entries, [e.stamp for e in entries])

    def _registered_domain(self, host: str) -> str | None:
        """The registered domain of ``host`` with the same port, or None (IPs, already registered)."""
        if host.startswith("["):
            return None
        name, sep, port = host.partition(":")
        if self._extract is None:
            import tldextract  # imported lazily: only this option needs it

            # No suffix list URLs: tldextract uses the snapshot bundled with it and never goes online.
            self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        parts = self._extract(name)
        domain = getattr(parts, "top_domain_under_public_suffix", None)
        if domain is None:
            domain = f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else ""
        if not domain or domain == name:
            return None
        return f"{domain}{sep}{port}"

    def _rule_for(self, snapshot: Snapshot) -> tuple[str, str]:
        """(rule, state) for a snapshot under the status rules."""
        rules = self.status_rules
        if snapshot.error is not None:
            code = snapshot.error.split(":", 1)[0].strip().lower()
            return rules.get(f"error:{code}", rules["error"]), "fetch_error"
        status = snapshot.status
        assert status is not None  # the cache guarantees a status or an error
        rule = rules.get(str(status)) or rules.get(f"{status // 100}xx") or "allow"
        return rule, _STATE_OF_CLASS.get(status // 100, "other_status")

    def _entry(self, snapshot: Snapshot) -> _Entry:
        rule, state = self._rule_for(snapshot)
        robots = None
        if rule == "parse":
            key = (snapshot.sha256, snapshot.truncated)
            robots = self._parsed.get_or_make(key, lambda: _parse_body(snapshot.body, snapshot.truncated))
            if robots is None:
                rule, state = "allow", "parse_error"
        meta = _snapshot_meta(snapshot)
        entry = _Entry(snapshot.fetched_at, snapshot.status, snapshot.error, rule, state, robots, meta)
        if robots is not None and not self._only_robots:
            count, first = robots.signal_errors
            if count:
                entry.signal_errors = {"count": count, "first": first[:3]}
            entry.has_signals = rule == "parse" and robots.has_signals
        return entry

    def _tdm_entry(self, snapshot: Snapshot) -> _TdmEntry:
        meta = _snapshot_meta(snapshot)
        if snapshot.error is not None:
            return _TdmEntry(snapshot.fetched_at, "fetch_error", None, meta)
        status = snapshot.status or 0
        if not 200 <= status < 300:
            state = "no_file" if 400 <= status < 500 else _STATE_OF_CLASS.get(status // 100, "other_status")
            return _TdmEntry(snapshot.fetched_at, state, None, meta)
        key = (snapshot.sha256, snapshot.truncated)
        tdm = self._tdm_parsed.get_or_make(key, lambda: TdmRep.parse(snapshot.body, snapshot.truncated))
        return _TdmEntry(snapshot.fetched_at, "error" if tdm.error else "parsed", tdm, meta)

