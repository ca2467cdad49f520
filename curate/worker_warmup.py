"""Imported by the forkserver that the local executor forks its pool workers from (never by anything else):
loads the fastText toxicity scorers the run's steps will ask for, once, so that every worker of every stage
starts with them loaded (copy-on-write pages) instead of loading them itself, 0.2 s of CPU each.

What to load comes from the launcher in `WARM_ENV` (a JSON list of the steps' scorer options; see
`curate.executors.preload_worker_imports`). A scorer that fails to load here is skipped: the worker then
loads it itself and reports what is wrong, in its task, as before."""
from __future__ import annotations

import json
import os

WARM_ENV = "CURATE_WORKER_WARMUP"


def warm(options: list[dict]) -> int:
    """Load the fastText scorers among `options` into this process's scorer cache; returns how many."""
    from curate.toxicity import scorer_from_config

    loaded = 0
    for opts in options:
        model = opts.get("model")
        if opts.get("encoder") or opts.get("head") or str(model).startswith("hf:") or model == "lexicon":
            continue  # Hugging Face models (GPU, threads) and the lexicon are not worth a shared copy
        try:
            scorer_from_config(opts)
            loaded += 1
        except Exception:  # noqa: BLE001 - the worker will load it and say what is wrong
            pass
    return loaded


warm(json.loads(os.environ.get(WARM_ENV) or "[]"))
