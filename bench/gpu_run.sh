#!/usr/bin/env bash
# GPU figures for curate in one go, on a fresh NVIDIA H100/H200 machine with PyPI access, from the repository
# root (this repo copied there as the working directory):
#
#     bash bench/gpu_run.sh                  # installs, builds the demo shards, runs every GPU row
#     bash bench/gpu_run.sh --cpu-rehearsal  # same steps with tiny sizes on CPU (or CURATE_CPU_REHEARSAL=1)
#
# Writes $OUT/gpu-results.md (OUT defaults to bench/results/tmp) plus each row's own files and gpu_run.log.
# Rows (each under its own time limit, and all under ROWS_BUDGET_S, so that one failure cannot eat the rest):
#   1. training, 125m and 1b at sequence length 4096, bf16, torch.compile (retried without it if it fails),
#      SDPA: tokens/s, MFU, peak memory; Goldfish off vs on; document masking on vs off (bench_train_gpu.py)
#   2. toxicity with `model: hf:DIR` on a randomly initialised XLM-R-base-sized classifier built here (no
#      download; a BPE tokenizer trained here on the demo sample text): documents/s at batch 64 and 256
# Environment: OUT, VENV (default /tmp/curate-gpu-venv; used as it is when it already imports torch, transformers
# and curate; the rehearsal uses .venv and installs nothing), WHEELS (a wheel directory for a machine without PyPI),
# ROWS_BUDGET_S (default 480), DEMO_DOCS (default 3000; rehearsal 200), PYTHON (default python3).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

REHEARSAL=${CURATE_CPU_REHEARSAL:-0}
for arg in "$@"; do
  case $arg in
    --cpu-rehearsal) REHEARSAL=1 ;;
    *) echo "usage: bash bench/gpu_run.sh [--cpu-rehearsal]" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-bench/results/tmp}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/gpu_run.log
RESULTS=$OUT/gpu-results.md
WORK=$(mktemp -d /tmp/curate-gpu-run.XXXXXX)
ROWS_BUDGET_S=${ROWS_BUDGET_S:-480}
PYTHON=${PYTHON:-python3}
: > "$LOG"
STATUS=()
T_START=$(date +%s)
T_ROWS=0

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

# row NAME LIMIT_S CMD...: run under `timeout`, the limit cut to what is left of ROWS_BUDGET_S; records a status
row() {
  local name=$1 limit=$2; shift 2
  local used=$(( $(date +%s) - T_ROWS )) left
  left=$(( ROWS_BUDGET_S - used ))
  if (( left < 20 )); then
    STATUS+=("| $name | $limit | 0 | skipped: rows budget ($ROWS_BUDGET_S s) spent |"); log "skip $name"; return 99
  fi
  (( limit > left )) && limit=$left
  log "row $name (limit ${limit}s): $*"
  local t0=$(date +%s) rc
  timeout --kill-after=15 "$limit" "$@" >> "$LOG" 2>&1
  rc=$?
  local dt=$(( $(date +%s) - t0 )) what
  case $rc in
    0) what="ok" ;;
    124|137) what="timed out after ${limit}s" ;;
    *) what="failed (exit $rc; see gpu_run.log)" ;;
  esac
  STATUS+=("| $name | $limit | $dt | $what |")
  log "row $name: $what in ${dt}s"
  return $rc
}

# ------------------------------------------------------------------ environment
if (( REHEARSAL )); then
  VENV=${VENV:-$REPO/.venv}
  log "CPU rehearsal: using $VENV as it is (no install)"
  PY=$VENV/bin/python
  INSTALL="not run (CPU rehearsal uses the existing environment)"
else
  VENV=${VENV:-/tmp/curate-gpu-venv}
  t0=$(date +%s)
  if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c "import torch, transformers, curate" 2>/dev/null; then
    log "using the existing environment $VENV (it already has torch, transformers and curate)"
    rc=0
  elif [[ -n ${WHEELS:-} ]]; then  # no network: a directory of wheels (pip download -d WHEELS '.[train,hf]')
    log "installing into $VENV from $WHEELS (no index)"
    { $PYTHON -m venv "$VENV" && "$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" \
        -e ".[train,hf]"; } >> "$LOG" 2>&1
    rc=$?
  else
    log "installing into $VENV from PyPI (train + hf extras; torch from PyPI is a CUDA build on Linux x86_64)"
    {
      if $PYTHON -m venv "$VENV" 2>/dev/null && "$VENV/bin/python" -m pip install -q --upgrade pip uv; then
        "$VENV/bin/python" -m uv pip install --python "$VENV/bin/python" -e ".[train,hf]" \
          || "$VENV/bin/python" -m pip install -q --progress-bar off -e ".[train,hf]"
      else
        $PYTHON -m pip install -q --user uv && $PYTHON -m uv venv "$VENV" \
          && $PYTHON -m uv pip install --python "$VENV/bin/python" -e ".[train,hf]"
      fi
    } >> "$LOG" 2>&1
    rc=$?
  fi
  PY=$VENV/bin/python
  INSTALL="exit $rc in $(( $(date +%s) - t0 ))s"
  log "install: $INSTALL"
  if (( rc )) || ! "$PY" -c "import torch, transformers, curate" >> "$LOG" 2>&1; then
    log "install failed: see $LOG"
    { echo "# curate GPU run: install failed"; echo; echo '```'; tail -40 "$LOG"; echo '```'; } > "$RESULTS"
    exit 1
  fi
  if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    log "torch sees no CUDA device: run with --cpu-rehearsal, or check the driver"; exit 1
  fi
fi
ENV_INFO=$("$PY" - <<'EOF' 2>>"$LOG"
import platform, subprocess, torch, transformers
parts = [f"python {platform.python_version()}", f"torch {torch.__version__}", f"transformers {transformers.__version__}"]
if torch.cuda.is_available():
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        smi = f"nvidia-smi failed: {exc}"
    parts += [f"GPU: {smi}", f"CUDA {torch.version.cuda}"]
else:
    parts += [f"CPU only: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"]
print("; ".join(parts))
EOF
)
log "environment: $ENV_INFO"

# ------------------------------------------------------------------ sizes
if (( REHEARSAL )); then
  DEMO_DOCS=${DEMO_DOCS:-200}
  # tiny body with the demo shards' 131,072-token vocabulary: a few steps, enough to run every arm
  TRAIN_125M=(--device cpu --configs tiny --seq-len 128 --batch tiny=4 --no-compile --warmup 1 --repeats 3)
  TRAIN_1B=(--device cpu --configs tiny --seq-len 128 --batch tiny=2 --no-compile --warmup 1 --repeats 3)
  TOX_SIZE=tiny; TOX_DOCS=64
  N_125M="train 125m (rehearsal: tiny, seq 128)"; N_1B="train 1b (rehearsal: tiny, seq 128)"
  L_DEMO=240; L_125M=150; L_1B=150; L_TOX=150
else
  DEMO_DOCS=${DEMO_DOCS:-3000}
  # 1b at batch 4 x 4096 needs about 80 GiB (fp32 weights, grads and three AdEMAMix states + activations and
  # fp32 logits): batch 4 on an H200 (141 GiB), 2 on an 80 GiB H100
  GPU_MIB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1 | tr -dc 0-9)
  B1=4; (( ${GPU_MIB:-0} < 100000 )) && B1=2
  TRAIN_125M=(--device cuda --configs 125m --seq-len 4096 --batch 125m=8 --compile --warmup 3 --repeats 8)
  TRAIN_1B=(--device cuda --configs 1b --seq-len 4096 --batch "1b=$B1" --compile --warmup 2 --repeats 6)
  TOX_SIZE=base; TOX_DOCS=4000
  N_125M="train 125m"; N_1B="train 1b"
  L_DEMO=60; L_125M=140; L_1B=180; L_TOX=100
fi
rm -f "$OUT"/train_125m.md "$OUT"/train_125m.json "$OUT"/train_1b.md "$OUT"/train_1b.json "$OUT"/toxicity_hf.md \
  "$OUT"/toxicity_hf.json  # no stale result from an earlier run
T_ROWS=$(date +%s)

# ------------------------------------------------------------------ demo shards
DEMO=$WORK/demo
SHARDS_ARG=()
if row "demo shards ($DEMO_DOCS docs)" $L_DEMO "$(dirname "$PY")/curate" demo --out "$DEMO" --docs "$DEMO_DOCS" \
     --tasks "$(nproc)" --no-progress; then
  SHARDS_ARG=(--shards "$DEMO/shards")
  SHARDS_NOTE="the demo run's shards ($DEMO_DOCS documents, tekken ids)"
else
  SHARDS_NOTE="synthetic shards (the demo row did not finish)"
fi

# ------------------------------------------------------------------ training rows
train_row() {  # train_row NAME LIMIT TAG ARGS...
  local name=$1 limit=$2 tag=$3; shift 3
  local cmd=("$PY" bench/bench_train_gpu.py "$@" "${SHARDS_ARG[@]}" --out "$OUT/train_$tag.md"
             --json "$OUT/train_$tag.json")
  [[ " $* " == *" --configs tiny "* ]] && cmd+=(--vocab 131072)  # tiny body, demo-sized vocabulary
  row "$name" "$limit" "${cmd[@]}"
  local rc=$?
  if (( rc != 0 && rc != 99 && rc != 124 && rc != 137 )) && [[ " $* " == *" --compile "* ]]; then
    local args=("${@/--compile/--no-compile}")
    row "$name, retried without torch.compile" "$limit" "$PY" bench/bench_train_gpu.py "${args[@]}" \
      "${SHARDS_ARG[@]}" --out "$OUT/train_$tag.md" --json "$OUT/train_$tag.json"
  fi
}
train_row "$N_125M" $L_125M 125m "${TRAIN_125M[@]}"
train_row "$N_1B" $L_1B 1b "${TRAIN_1B[@]}"

# ------------------------------------------------------------------ toxicity row
cat > "$WORK/tox_hf.py" <<'EOF'
"""documents/s of curate.toxicity.hf.HFClassifierScorer on a random XLM-R-shaped classifier built here."""
import json, os, statistics, sys, time
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from curate.sample import generate
from curate.toxicity.hf import HFClassifierScorer

size, n_docs, work, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
device = "cuda" if torch.cuda.is_available() else "cpu"
texts = [d["text"] for docs in generate(max(300, n_docs // 4), 0).values() for d in docs]
docs, buf = [], ""
for t in texts * 50:  # 3.5 KB documents from the demo sample's text
    buf += t + "\n"
    if len(buf) >= 3500:
        docs.append(buf[:3500]); buf = ""
    if len(docs) == n_docs:
        break

model_dir = work / f"xlmr-{size}-random"
tok = Tokenizer(models.BPE(unk_token="<unk>"))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=32000 if size == "base" else 2000,
                        special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False))
tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                            pad_token="<pad>", unk_token="<unk>", model_max_length=512)
fast.save_pretrained(str(model_dir))
shape = (dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, vocab_size=250002)
         if size == "base" else dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, vocab_size=2000))
cfg = transformers.XLMRobertaConfig(max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0,
                                    eos_token_id=2, num_labels=2, **shape)
torch.manual_seed(0)
model = transformers.XLMRobertaForSequenceClassification(cfg)
n_params = sum(p.numel() for p in model.parameters())
model.save_pretrained(str(model_dir))
del model

rows = []
for bs in (64, 256):
    scorer = HFClassifierScorer(f"hf:{model_dir}", device=device, batch_size=bs)
    warm = docs[: min(len(docs), max(bs, 64))]
    scorer.score_documents(warm, ["en"] * len(warm))  # warm-up
    times = []
    for _ in range(3):
        if device == "cuda":
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        res = scorer.score_documents(docs, ["en"] * len(docs))
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    n_chunks = sum(d["n_chunks"] for _, d in res)
    t = statistics.median(times)
    rows.append({"batch_size": bs, "docs": len(docs), "chunks": n_chunks, "seconds_median": t,
                 "docs_per_s": len(docs) / t, "chunks_per_s": n_chunks / t, "dtype": res[0][1]["dtype"],
                 "peak_mem_gib": (torch.cuda.max_memory_allocated() / 2**30) if device == "cuda" else None})
    print(rows[-1], flush=True)
    del scorer
lines = [f"## toxicity `model: hf:...` on {device}", "",
         f"- random XLM-R-shaped classifier ({size}: {n_params / 1e6:.1f}M parameters, hidden "
         f"{cfg.hidden_size}, {cfg.num_hidden_layers} layers), BPE tokenizer trained here (vocab "
         f"{fast.vocab_size}); {len(docs)} documents of 3,500 characters from the demo sample text; chunks of "
         f"<= 512 tokens; time = median of 3 calls of score_documents over all documents (tokenisation included)",
         "", "| batch_size | documents | chunks | s (median) | documents/s | chunks/s | dtype | peak mem GiB |",
         "|---:|---:|---:|---:|---:|---:|---|---:|"]
for r in rows:
    mem = "n/a (CPU)" if r["peak_mem_gib"] is None else f"{r['peak_mem_gib']:.1f}"
    lines.append(f"| {r['batch_size']} | {r['docs']} | {r['chunks']} | {r['seconds_median']:.2f} | "
                 f"{r['docs_per_s']:,.1f} | {r['chunks_per_s']:,.1f} | {r['dtype']} | {mem} |")
out.write_text("\n".join(lines) + "\n")
(out.with_suffix(".json")).write_text(json.dumps(rows, indent=1))
print("\n".join(lines))
EOF
row "toxicity hf ($TOX_SIZE, batch 64/256)" $L_TOX "$PY" "$WORK/tox_hf.py" "$TOX_SIZE" "$TOX_DOCS" "$WORK" \
  "$OUT/toxicity_hf.md"

# ------------------------------------------------------------------ results
{
  if (( REHEARSAL )); then
    echo "# curate GPU run: CPU REHEARSAL (tiny sizes; these are not GPU figures)"
  else
    echo "# curate GPU run"
  fi
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host $(hostname)"
  echo "- environment: $ENV_INFO"
  echo "- install: $INSTALL"
  echo "- command: \`bash bench/gpu_run.sh $*\` (OUT=$OUT); training data: $SHARDS_NOTE"
  echo "- total wall time $(( $(date +%s) - T_START ))s, rows $(( $(date +%s) - T_ROWS ))s of a ${ROWS_BUDGET_S}s budget"
  echo
  echo "| row | limit s | took s | status |"
  echo "|---|---:|---:|---|"
  printf '%s\n' "${STATUS[@]}"
  echo
  for f in "$OUT"/train_125m.md "$OUT"/train_1b.md "$OUT"/toxicity_hf.md; do
    if [[ -f $f ]]; then sed 's/^## /### /' "$f"; echo; else echo "### $(basename "$f" .md): no result"; echo; fi
  done
} > "$RESULTS"
log "wrote $RESULTS"
rm -rf "$WORK"
cat "$RESULTS"
