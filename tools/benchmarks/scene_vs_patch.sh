#!/usr/bin/env bash
# Patch mIoU vs scene mIoU of one PFNet checkpoint on the iSAID val sample
# (issue "Whole aerial scenes", item 5). The official protocol
# (lxtGH/PFSegNets eval.py, --inference_mode whole --resize_scale 896)
# scores 896x896 patches cut with stride 512, so overlapping pixels count
# several times; the scene protocol segments each whole val scene with the
# large-image inferencer (SceneTestLoop: 896 tiles, overlap 384 = the same
# stride, uniform blend) and scores the stitched scene once.
#
#   python -m tools.benchmarks.bench_models --only pfnet50   # the checkpoint
#   bash tools/benchmarks/scene_vs_patch.sh [OUT_DIR]        # default work_dirs/scene_vs_patch
#
# Writes OUT_DIR/{patch,scene}/ (mim test work dirs) and OUT_DIR/result.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
MIM=$(dirname "$PY")/mim
OUT=${1:-work_dirs/scene_vs_patch}
BENCH=${BENCH_DIR:-work_dirs/bench}
CONFIG=configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py
CKPT=$("$PY" -c "from tools.benchmarks.bench_models import checkpoint; print(checkpoint('$BENCH', 'pfnet50'))")
PATCHES=$BENCH/data/iSAID
SCENES=$OUT/data/iSAID_scenes
[[ -f "$CKPT" ]] || { echo "error: $CKPT not found: run python -m tools.benchmarks.bench_models --only pfnet50" >&2; exit 1; }
mkdir -p "$OUT"
# whole val scenes with id labels: a patch larger than any scene keeps each whole
[[ -d "$SCENES/img_dir/val" ]] || "$PY" tools/dataset_converters/isaid.py data/isaid \
    -o "$SCENES" --splits val --patch-size 100000 --stride 100000
COMMON=(test_dataloader.num_workers=0 test_dataloader.persistent_workers=False)
"$MIM" test mmseg_ext "$CONFIG" --checkpoint "$CKPT" --work-dir "$OUT/patch" \
    --cfg-options test_dataloader.dataset.data_root="$PATCHES" "${COMMON[@]}"
"$MIM" test mmseg_ext "$CONFIG" --checkpoint "$CKPT" --work-dir "$OUT/scene" \
    --cfg-options test_dataloader.dataset.data_root="$SCENES" "${COMMON[@]}" \
    test_cfg.type=SceneTestLoop "test_cfg.tile=(896,896)" test_cfg.overlap=384 \
    test_evaluator.type=SceneIoUMetric
"$PY" - "$OUT" "$CKPT" <<'PYEOF'
import glob, json, os.path as osp, sys
out, ckpt = sys.argv[1:]
def last(kind):
    files = sorted(glob.glob(osp.join(out, kind, '*', '*.json')))
    with open(files[-1]) as f:
        return json.load(f)
res = dict(checkpoint=ckpt, patch=last('patch'), scene=last('scene'))
with open(osp.join(out, 'result.json'), 'w') as f:
    json.dump(res, f, indent=2)
print(json.dumps(res, indent=2))
PYEOF
