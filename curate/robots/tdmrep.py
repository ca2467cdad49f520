"""W3C TDMRep (TDM Reservation Protocol): the origin's ``/.well-known/tdmrep.json`` file.

The file is a JSON array of objects ``{"location": "/path/", "tdm-reservation": 1, "tdm-policy": "https://..."}``;
``location`` is a robots.txt-style path pattern (prefix match, ``*`` any run, a final ``$`` anchors the end),
and the FIRST entry in array order whose location matches the URL decides (publishers list the most specific
first). ``tdm-reservation`` is 1 (text-and-data-mining rights reserved, the EU CDSM Art. 4 opt-out) or 0 (not
reserved); any other value is an error and counts as unset.

A file is untrusted input: broken JSON, an object instead of an array, wrong types, a huge or truncated body
are an error recorded on the parsed file (`TdmRep.error`, or per entry `TdmRule.error`), never an exception.
Work is bounded: a body above `MAX_BYTES` is not decoded at all, at most `MAX_ENTRIES` entries are read, and
deep nesting stops the JSON parser (RecursionError) rather than the run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from curate.robots.matcher import _path_key, _pattern_match, escape_pattern

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "TdmRep", "TdmRule"]

MAX_BYTES = 1 << 20  # a tdmrep.json is a few hundred bytes; anything above 1 MiB is not parsed
MAX_ENTRIES = 10_000
MAX_ERRORS = 32  # entry errors kept as evidence (all are counted)


@dataclass(frozen=True)
class TdmRule:
    """One entry of the array: its index, location as written, canonical pattern, reservation (1, 0 or None
    when unset or invalid), policy URL (or None) and the entry's error (None when well-formed)."""

    index: int
    location: str
    pattern: str
    reservation: int | None
    policy: str | None
    error: str | None = None

    def to_dict(self) -> dict:
        out = {"index": self.index, "location": self.location, "tdm-reservation": self.reservation}
        if self.policy is not None:
            out["tdm-policy"] = self.policy
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class TdmRep:
    """A parsed tdmrep.json: its usable rules in array order, and what was wrong with it.

    ``error`` is a file-level problem (nothing usable: no rule applies); ``entry_errors`` counts the entries
    that were skipped or whose reservation is invalid, ``errors`` holds the first `MAX_ERRORS` of them."""

    rules: tuple[TdmRule, ...] = ()
    error: str | None = None
    entry_errors: int = 0
    errors: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, body: bytes | str, truncated: bool = False) -> "TdmRep":
        """Parse a body (never raises for bad content; see the module docstring)."""
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        if truncated:
            return cls(error=f"truncated at {len(body)} bytes: the JSON is incomplete")
        if len(body) > MAX_BYTES:
            return cls(error=f"{len(body)} bytes, more than {MAX_BYTES}: not parsed")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return cls(error=f"not UTF-8: {exc}")
        try:
            data = json.loads(text)
        except RecursionError:
            return cls(error="not JSON: nested too deeply")
        except ValueError as exc:
            looks = " (looks like HTML)" if text.lstrip()[:1] == "<" else ""
            return cls(error=f"not JSON{looks}: {exc}")
        if not isinstance(data, list):
            return cls(error=f"expected a JSON array of objects, got a JSON {_json_type(data)}")
        if len(data) > MAX_ENTRIES:
            return cls(error=f"{len(data)} entries, more than {MAX_ENTRIES}: not used")
        rules, errors, count = [], [], 0
        for index, entry in enumerate(data):
            rule, problem = _rule(index, entry)
            if problem is not None:
                count += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(f"entry {index}: {problem}")
            if rule is not None:
                rules.append(rule)
        return cls(tuple(rules), None, count, tuple(errors))

    def match(self, url: str) -> TdmRule | None:
        """The first rule whose location matches ``url`` (a URL or a path), None when none does."""
        if not self.rules:
            return None
        path = _path_key(url)
        for rule in self.rules:
            if _pattern_match(rule.pattern, path):
                return rule
        return None


def _json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _rule(index: int, entry: object) -> tuple[TdmRule | None, str | None]:
    """(rule or None when the entry is unusable, problem or None)."""
    if not isinstance(entry, dict):
        return None, f"expected an object, got a JSON {_json_type(entry)}"
    location = entry.get("location")
    if not isinstance(location, str):
        return None, "no 'location' string" if location is None else f"'location' is a JSON {_json_type(location)}"
    if location[:1] not in ("/", "*"):
        return None, f"'location' {location[:80]!r} is not a path pattern"
    location = location[:2048]  # a location longer than that matches no real URL path any differently
    problems = []
    reservation = entry.get("tdm-reservation")
    if reservation is None:
        problems.append("no 'tdm-reservation'")
    elif isinstance(reservation, bool) or reservation not in (0, 1) or not isinstance(reservation, int):
        problems.append(f"'tdm-reservation' must be 0 or 1, got {json.dumps(reservation)[:40]}")
        reservation = None
    policy = entry.get("tdm-policy")
    if policy is not None and not isinstance(policy, str):
        problems.append(f"'tdm-policy' is a JSON {_json_type(policy)}, not a URL")
        policy = None
    problem = "; ".join(problems) or None
    return TdmRule(index, location, escape_pattern(location), reservation,
                   None if policy is None else policy[:2048], problem), problem
