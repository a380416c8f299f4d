#!/usr/bin/env bash
# The deployment benchmark table of the README (issue "Deployment and fast
# inference"): eager fp32 (the reference), eager fp32 and bf16 channels-last
# with Conv+BN folded (--fuse-conv-bn), ONNX Runtime fp32, OpenVINO fp32 and
# bf16, batch 1, medians of 5 timed runs after 1 warm-up, random weights,
# --mode predict (PointRend's subdivision inference is only in predict),
# conv ceiling probed once per input size (--probe-peak). One
# tools/fps_test.py run per input size, so every row of a model comes from
# the same run. Run it on an idle machine:
#
#   bash tools/benchmarks/deploy_table.sh [OUT_DIR]     # default work_dirs/deploy_table
#   DEPLOY_TABLE_SMOKE=1 bash tools/benchmarks/deploy_table.sh   # 64x128, 1 run: checks the plumbing only
#
# OUT_DIR gets one .md per run and table.md, all of them.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-work_dirs/deploy_table}
mkdir -p "$OUT"
ROWS=(--backend pytorch pytorch:bf16 onnxruntime openvino openvino:bf16
      --channels-last --fuse-conv-bn --mode predict --probe-peak --keep-going
      --device cpu)
WARMUP=1 ITERS=5
if [[ "${DEPLOY_TABLE_SMOKE:-0}" == 1 ]]; then
    WARMUP=0 ITERS=1
fi
size() {  # size H W: the real H W, or 64 128 for the smoke
    if [[ "${DEPLOY_TABLE_SMOKE:-0}" == 1 ]]; then echo 64 128; else echo "$1 $2"; fi
}
run() {  # run NAME H W CONFIG...
    local name=$1 h w
    read -r h w <<< "$(size "$2" "$3")"
    shift 3
    echo "== $name ${h}x${w} $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$PY" tools/fps_test.py "$@" --height "$h" --width "$w" "${ROWS[@]}" \
        --warmup "$WARMUP" --iters "$ITERS" --out "$OUT/$name.md"
}
START=$(date +%s)
run 512x1024 512 1024 \
    configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py \
    configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py \
    configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py
run 896x896 896 896 configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py
run 2448x2448 2448 2448 \
    configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py
cat "$OUT"/512x1024.md "$OUT"/896x896.md "$OUT"/2448x2448.md > "$OUT/table.md"
echo "== done in $(( $(date +%s) - START )) s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$OUT/table.md"
