"""Pipeline files (YAML): loading and validation before any work starts.

    name: demo
    input: {format: auto, text_key: text, id_key: id, url_key: url, max_chars: 1000000, too_large: quarantine}
    blocks:
      - optout: {cache: ../robots_cache/demo, agents: apertus, policy: retroactive}
      - language: {keep: [en, de, fr, it, rm]}
      - toxicity: {top_p: 0.05}
      - license: {}
      - pii: {}
      - tokenize: {}

An unknown block, key or value is a ConfigError that names the file and the key. Relative paths in a
pipeline file are relative to that file's directory.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    pass


# A key's spec: (type or tuple of types, default, allowed values or None). "path" = a str resolved
# against the pipeline file's directory.
LIST_STR = "list[str]"
AGENTS = "agents"  # a bundled list name, a list file (relative to the pipeline file), or a YAML list of agents
BUNDLED_AGENTS = ("apertus", "ai-robots-txt")
OPTOUT_SIGNALS = ("robots", "tdmrep", "noai", "aipref", "content-signal")  # = curate.robots.policy.SIGNALS
Spec = tuple

BLOCKS: dict[str, dict[str, Spec]] = {
    "optout": {
        "cache": ("path", None, None),
        "agents": ("agents", "apertus", None),
        "policy": (str, "retroactive", ("retroactive", "as-of-crawl", "strictest")),
        "star": (bool, True, None),
        "granularity": (str, "url", ("url", "host")),
        "registered_domain_fallback": (bool, False, None),
        "status_rules": (dict, None, None),
        # which reservations are honoured; absent = all five (OPTOUT_SIGNALS), [robots] = Apertus
        "signals": (LIST_STR, None, None),
    },
    "language": {
        "keep": (LIST_STR, None, None),
        "min_score": (float, 0.0, None),
        "model": ("path", None, None),
    },
    "toxicity": {
        "top_p": (float, 0.05, None),
        "threshold": (float, None, None),
        # model: None = the shipped classifier; "lexicon"; "hf:DIR"; or a fastText .bin (relative paths are
        # resolved against the pipeline file in _validate_values). encoder ("hf:DIR") + head (FILE): Apertus' recipe
        "model": (str, None, None),
        "device": (str, "cpu", ("cpu", "cuda")),
        "batch_size": (int, 64, None),
        "encoder": (str, None, None),
        "head": ("path", None, None),
        "chunk_chars": (int, 2000, None),
        "sample_fraction": (float, 1.0, None),
        "sample_max": (int, 200000, None),
    },
    "license": {
        "web_drop": (LIST_STR, ["non-commercial", "no-derivatives"], None),
        "code_keep": (LIST_STR, ["permissive", "public-domain"], None),
    },
    "pii": {
        "types": (LIST_STR, None, None),
        "public_ip_only": (bool, False, None),
        "skip_code": (bool, True, None),
    },
    "tokenize": {
        "tokenizer": (str, "tekken_240718", ("tekken_240718",)),
        "max_tokens": (int, None, None),
    },
}
INPUT: dict[str, Spec] = {
    "format": (str, "auto", ("auto", "parquet", "jsonl", "warc", "wet")),
    "text_key": (str, "text", None),
    "id_key": (str, "id", None),
    "url_key": (str, "url", None),
    # a record whose text is longer than this is quarantined as input.too_large (or cut, too_large: truncate)
    "max_chars": (int, 1_000_000, None),
    "too_large": (str, "quarantine", ("quarantine", "truncate")),
}
TOP = {"name", "description", "input", "blocks"}


@dataclass
class Pipeline:
    name: str
    path: str
    input: dict
    blocks: list[tuple[str, dict]] = field(default_factory=list)
    description: str = ""

    def block(self, name: str) -> dict | None:
        for n, cfg in self.blocks:
            if n == name:
                return cfg
        return None

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "input": self.input,
                "blocks": [{n: c} for n, c in self.blocks]}

    def digest(self) -> str:
        """What the pipeline decides with, independent of where it runs (paths excluded)."""
        d = copy.deepcopy(self.to_dict())
        d.pop("description")
        for b in d["blocks"]:
            for cfg in b.values():
                for k, (typ, _, _) in BLOCKS[next(iter(b))].items():
                    if (typ == "path" or typ == AGENTS and isinstance(cfg.get(k), str)
                            and cfg[k] not in BUNDLED_AGENTS) and cfg.get(k):
                        cfg[k] = os.path.basename(str(cfg[k]).rstrip("/"))
                    elif file_value(cfg.get(k)):  # a model path given as a string key (e.g. hf:DIR)
                        v = cfg[k]
                        cfg[k] = ("hf:" if v.startswith("hf:") else "") + os.path.basename(file_value(v).rstrip("/"))
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def file_value(value: Any) -> str | None:
    """The file or directory a resolved string key names (an absolute path, or `hf:` + one), else None.
    Used for keys whose type is `str` but whose value may be a path: the digest keeps only the name (the
    content goes into the run id through `curate.run.decision_files`)."""
    if not isinstance(value, str):
        return None
    raw = value[3:] if value.startswith("hf:") else value
    return raw if os.path.isabs(raw) and os.path.exists(raw) else None


def _check(where: str, key: str, value: Any, spec: Spec, base: Path) -> Any:
    typ, _, allowed = spec
    if value is None:
        return None
    if typ == AGENTS:
        if isinstance(value, list):
            if not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise ConfigError(f"{where}: key '{key}' as a list must name at least one agent (strings), got {value!r}")
            return [v.strip() for v in value]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: key '{key}' must be {' or '.join(BUNDLED_AGENTS)}, a list file or a list "
                              f"of agents, got {value!r}")
        if value in BUNDLED_AGENTS:
            return value
        return str((base / os.path.expanduser(value)).resolve())
    if typ == "path":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: key '{key}' must be a path string, got {value!r}")
        return str((base / value).resolve()) if not os.path.isabs(value) else value
    if typ == LIST_STR:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: key '{key}' must be a list of strings, got {value!r}")
        return list(value)
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if typ is int and isinstance(value, bool) or not isinstance(value, typ):
        raise ConfigError(f"{where}: key '{key}' must be {getattr(typ, '__name__', typ)}, got {value!r}")
    if allowed is not None and value not in allowed:
        raise ConfigError(f"{where}: key '{key}' has value {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value


def _section(where: str, raw: Any, specs: dict[str, Spec], base: Path) -> dict:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {raw!r}")
    for k in raw:
        if k not in specs:
            raise ConfigError(f"{where}: unknown key '{k}' (known: {', '.join(specs)})")
    return {k: _check(where, k, raw.get(k, spec[1]), spec, base) if k in raw else copy.deepcopy(spec[1])
            for k, spec in specs.items()}


def _validate_values(where: str, name: str, cfg: dict) -> None:
    for key, (typ, _, _) in BLOCKS[name].items():
        if typ == "path" and key != "cache" and cfg.get(key) and not os.path.exists(cfg[key]):
            raise ConfigError(f"{where}: key '{key}': {cfg[key]} does not exist")
    if name == "toxicity":
        if not 0.0 <= cfg["top_p"] < 1.0:
            raise ConfigError(f"{where}: key 'top_p' must be in [0, 1), got {cfg['top_p']}")
        if not 0.0 < cfg["sample_fraction"] <= 1.0:
            raise ConfigError(f"{where}: key 'sample_fraction' must be in (0, 1], got {cfg['sample_fraction']}")
        if cfg["threshold"] is not None and not 0.0 <= cfg["threshold"] <= 1.0:
            raise ConfigError(f"{where}: key 'threshold' must be in [0, 1], got {cfg['threshold']}")
        if cfg["batch_size"] < 1:
            raise ConfigError(f"{where}: key 'batch_size' must be >= 1, got {cfg['batch_size']}")
        if cfg["chunk_chars"] < 1:
            raise ConfigError(f"{where}: key 'chunk_chars' must be >= 1, got {cfg['chunk_chars']}")
        if (cfg["encoder"] is None) != (cfg["head"] is None):
            raise ConfigError(f"{where}: keys 'encoder' (hf:DIR) and 'head' (FILE) go together")
        if cfg["encoder"] is not None and cfg["model"] is not None:
            raise ConfigError(f"{where}: give either 'model' or 'encoder' + 'head', not both")
        base = Path(where.rsplit(": blocks[", 1)[0]).resolve().parent  # where = "<pipeline file>: blocks[i]..."
        for key in ("model", "encoder"):
            value = cfg[key]
            if value is None or (key == "model" and value == "lexicon"):
                continue
            hf = value.startswith("hf:")
            if key == "encoder" and not hf:
                raise ConfigError(f"{where}: key 'encoder' must be 'hf:DIR' (a local Hugging Face model folder)")
            raw = value[3:] if hf else value
            resolved = raw if os.path.isabs(raw) else str((base / raw).resolve())
            if not os.path.exists(resolved):
                raise ConfigError(f"{where}: key '{key}': {resolved} does not exist")
            cfg[key] = ("hf:" + resolved) if hf else resolved
        if cfg["device"] == "cuda" and cfg["model"] is not None and not cfg["model"].startswith("hf:"):
            raise ConfigError(f"{where}: key 'device': cuda applies to Hugging Face models only (model: hf:DIR)")
        if cfg["device"] == "cuda" and cfg["model"] is None and cfg["encoder"] is None:
            raise ConfigError(f"{where}: key 'device': cuda applies to Hugging Face models only; the default "
                              "classifier runs on the CPU")
    if name == "language" and not 0.0 <= cfg["min_score"] <= 1.0:
        raise ConfigError(f"{where}: key 'min_score' must be in [0, 1], got {cfg['min_score']}")
    if name == "pii" and cfg["types"] is not None:
        from curate.pii import MARKERS

        for t in cfg["types"]:
            if t not in MARKERS:
                raise ConfigError(f"{where}: key 'types' has unknown PII type {t!r}; known: {', '.join(MARKERS)}")
    if name == "optout":
        if cfg["signals"] is None:
            cfg["signals"] = list(OPTOUT_SIGNALS)
        unknown = [v for v in cfg["signals"] if v not in OPTOUT_SIGNALS]
        if unknown or not cfg["signals"]:
            raise ConfigError(f"{where}: key 'signals' has unknown signal(s) {', '.join(map(repr, unknown))}; known: "
                              f"{', '.join(OPTOUT_SIGNALS)}" if unknown else
                              f"{where}: key 'signals' must name at least one of {', '.join(OPTOUT_SIGNALS)}")
        if len(set(cfg["signals"])) != len(cfg["signals"]):
            raise ConfigError(f"{where}: key 'signals' names a signal twice: {cfg['signals']}")
    if name == "optout" and isinstance(cfg["agents"], str) and cfg["agents"] not in BUNDLED_AGENTS \
            and not os.path.isfile(cfg["agents"]):
        raise ConfigError(f"{where}: key 'agents' must be 'apertus', 'ai-robots-txt', a list of agents or an existing "
                          f"file (relative paths are relative to the pipeline file's directory), got {cfg['agents']!r}")


def load_pipeline(path: str | os.PathLike) -> Pipeline:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: pipeline file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for k in raw:
        if k not in TOP:
            raise ConfigError(f"{path}: unknown key '{k}' (known: {', '.join(sorted(TOP))})")
    base = path.resolve().parent
    inp = _section(f"{path}: input", raw.get("input"), INPUT, base)
    if inp["max_chars"] < 1:
        raise ConfigError(f"{path}: input: key 'max_chars' must be >= 1, got {inp['max_chars']}")
    blocks_raw = raw.get("blocks")
    if not isinstance(blocks_raw, list) or not blocks_raw:
        raise ConfigError(f"{path}: key 'blocks' must be a non-empty list")
    blocks, seen = [], []
    for i, item in enumerate(blocks_raw):
        where = f"{path}: blocks[{i}]"
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"{where}: each block is a one-key mapping like '- pii: {{...}}'")
        name, cfg = next(iter(item.items()))
        if name not in BLOCKS:
            raise ConfigError(f"{where}: unknown block '{name}' (known: {', '.join(BLOCKS)})")
        if name in seen:
            raise ConfigError(f"{where}: block '{name}' appears twice")
        where = f"{where}.{name}"
        if name == "toxicity" and isinstance(cfg, dict) and "top_p" in cfg and cfg.get("threshold") is not None:
            raise ConfigError(f"{where}: keys 'top_p' and 'threshold' exclude each other: 'threshold' drops every "
                              f"document scoring above it, 'top_p' calibrates per-language thresholds; keep one")
        cfg = _section(where, cfg, BLOCKS[name], base)
        _validate_values(where, name, cfg)
        blocks.append((name, cfg))
        seen.append(name)
    if seen[-1] != "tokenize":
        raise ConfigError(f"{path}: the last block must be 'tokenize' (the sink writes token shards)")
    return Pipeline(name=str(raw.get("name") or path.stem), path=str(path), input=inp, blocks=blocks,
                    description=str(raw.get("description") or ""))
