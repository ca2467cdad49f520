#!/usr/bin/env bash
# Creates bench/.venv-anchors with the two anchor detectors used by bench/license_eval.py and
# bench/bench_license.py: licenseclassifier (pure-Python port of Google's licensecheck, BSD-3-Clause) and
# scancode-toolkit-mini (ScanCode, the field's reference; Apache-2.0, data CC-BY-4.0). They are bench-only
# tools, not runtime dependencies of curate. scancode-toolkit-mini fails to import with pluggy 1.7.0, so
# pluggy is pinned to 1.5.0. pyarrow and pyyaml only let the harness read the parquet/YAML sources. About 700 MB installed; the first scancode import builds/loads its index (~5 s).
#
#     bash bench/license_anchors.sh          # create or update bench/.venv-anchors
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-anchors"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "licenseclassifier" "scancode-toolkit-mini" "pluggy==1.5.0" "license-expression" "pyarrow" "pyyaml"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("licenseclassifier", "scancode-toolkit-mini", "pluggy", "license-expression"):
    print(name, md.version(name))
PY
