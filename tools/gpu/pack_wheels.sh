#!/usr/bin/env bash
# Make the carry folder for the GPU check (docs/en/gpu_check.md).
#
#   bash tools/gpu/pack_wheels.sh [--checkpoint CKPT] [--camvid DIR]
#                                 [--train-frames N] [--val-frames N]
#
# Run here (with network) from the repository root; pass the folder it
# prints as the device call's `carry`. It writes .gpu_carry/ (ignored by
# git; never committed):
#   wheels/  pure-Python wheels the GPU image (Python 3.12, torch 2.11) lacks:
#            mmengine 0.10.7, mmsegmentation 1.2.2, openmim 0.3.9, addict,
#            yapf, platformdirs, termcolor, model-index, ordered-set,
#            prettytable, wcwidth, ftfy, setuptools 81 (mmengine and mmcv's
#            setup.py import pkg_resources, gone in 82), and mmseg_ext
#            built from this checkout;
#   sdist/   mmcv-2.1.0.tar.gz (no cp312 mmcv wheel exists on PyPI, and the
#            cached ones in ../shared/wheels are cp311 builds against torch
#            2.13 / 2.1.2: a C++ extension loads only under the torch it was
#            built against);
#   camvid/  the first N train frames (default 48) and val frames (default
#            8) of the CamVid release with their labels: ../shared does
#            not travel to the device, and the whole set (120 MB) is over
#            the 64 MiB limit;
#   main/checkpoint.pth  with --checkpoint: its state dict in fp16 (half
#            the size; the check's fp32 reference then uses these weights).
# Then it checks that the tree that travels (tracked and untracked files
# git does not ignore) plus the carry folder stay under 64 MiB.
set -euo pipefail

PY=${PYTHON:-.venv/bin/python}
DEST=${GPU_CHECK_CARRY:-.gpu_carry}
CAMVID=../shared/data/camvid
TRAIN_FRAMES=48
VAL_FRAMES=8
CKPT=
LIMIT_MIB=64
while [ $# -gt 0 ]; do
    case "$1" in
        --checkpoint) CKPT=$2; shift 2 ;;
        --camvid) CAMVID=$2; shift 2 ;;
        --train-frames) TRAIN_FRAMES=$2; shift 2 ;;
        --val-frames) VAL_FRAMES=$2; shift 2 ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
if [ ! -f tools/gpu/check.py ]; then
    echo "run from the repository root" >&2
    exit 2
fi
for sub in train trainannot val valannot; do
    if [ ! -d "$CAMVID/$sub" ]; then
        echo "CamVid folder $CAMVID/$sub not found (give --camvid)" >&2
        exit 2
    fi
done

WHEELS=(mmengine==0.10.7 mmsegmentation==1.2.2 openmim==0.3.9 addict==2.4.0
    yapf==0.43.0 platformdirs==4.14.9 termcolor==3.3.0 model-index==0.1.11
    ordered-set==4.1.0 prettytable==3.19.0 wcwidth==0.9.5 ftfy==6.3.1
    setuptools==81.0.0)
STAGE=$(mktemp -d "${DEST%/}.staging.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/wheels" "$STAGE/sdist" "$STAGE/camvid"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$STAGE/wheels" "${WHEELS[@]}"
"$PY" -m pip download -q --no-deps --no-binary=:all: -d "$STAGE/sdist" mmcv==2.1.0
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$STAGE/wheels" .

for split in train val; do
    n=$TRAIN_FRAMES
    [ "$split" = val ] && n=$VAL_FRAMES
    mkdir -p "$STAGE/camvid/$split" "$STAGE/camvid/${split}annot"
    find "$CAMVID/$split" -maxdepth 1 -name '*.png' | sort | head -n "$n" |
        while read -r img; do
            name=$(basename "$img")
            cp "$img" "$STAGE/camvid/$split/$name"
            cp "$CAMVID/${split}annot/$name" "$STAGE/camvid/${split}annot/$name"
        done
done
if [ -n "$CKPT" ]; then
    mkdir -p "$STAGE/main"
    "$PY" -m tools.gpu.main_model --half "$CKPT" "$STAGE/main/checkpoint.pth"
fi

rm -rf "$DEST"
mv "$STAGE" "$DEST"
trap - EXIT
carry=$(du -sb "$DEST" | cut -f1)
tree=$(git ls-files -z -co --exclude-standard | du -cb --files0-from=- 2>/dev/null |
    tail -n 1 | cut -f1)
total=$((carry + tree))
echo "carry $DEST: $((carry / 1048576)) MiB; tree: $((tree / 1048576)) MiB; together $((total / 1048576)) MiB of ${LIMIT_MIB}"
ls -l "$DEST/wheels" "$DEST/sdist"
if [ "$total" -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "over the ${LIMIT_MIB} MiB a device call carries: pass fewer --train-frames" >&2
    exit 1
fi
