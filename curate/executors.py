"""Executors: datatrove's LocalPipelineExecutor (and SlurmPipelineExecutor for clusters).

Task logs go to OUT/logs/<stage>/ in full; the console only shows errors from datatrove, so progress
bars and the summary stay readable.
"""
from __future__ import annotations

from pathlib import Path

import curate._logging  # noqa: F401  (quiet datatrove console logs)


def make_executor(pipeline: list, logging_dir: Path, opts, depends=None):
    if opts.executor == "local":
        from datatrove.executor.local import LocalPipelineExecutor

        # completion is tracked per input file by curate itself (.curate/done), which survives a change in
        # the number of tasks; datatrove's per-rank markers would not
        return LocalPipelineExecutor(pipeline, tasks=opts.tasks, workers=min(opts.workers, opts.tasks),
                                     logging_dir=str(logging_dir), skip_completed=False, depends=depends)
    if opts.executor == "slurm":
        raise NotImplementedError("the slurm executor is wired in curate.executors.make_slurm_executor")
    raise ValueError(f"unknown executor {opts.executor!r} (local or slurm)")
