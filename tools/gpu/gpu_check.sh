#!/usr/bin/env bash
# The GPU check on a bare GPU machine (docs/en/gpu_check.md).
#
#   bash tools/gpu/gpu_check.sh OUT_DIR [--dry-run] [DRIVER OPTIONS...]
#
# Run from the repository root with the carry folder (.gpu_carry/, made here
# by `bash tools/gpu/pack_wheels.sh`) beside it. Steps:
#   1. pip install --no-index --no-deps --target $SITE .gpu_carry/wheels/*.whl
#      (mmengine, mmsegmentation, openmim, their pure-Python dependencies
#      the image lacks, setuptools<82, mmseg_ext);
#   2. build mmcv 2.1.0 from .gpu_carry/sdist/mmcv-2.1.0.tar.gz with
#      MMCV_WITH_OPS=1 and MAX_JOBS=$(nproc), CPU ops (CUDA_VISIBLE_DEVICES
#      empty during the build) unless MMCV_CUDA_OPS=1 (then CUDA ops for
#      TORCH_CUDA_ARCH_LIST, default 9.0);
#   3. python -m tools.gpu.check OUT_DIR --deadline START+BUDGET, killed
#      (TERM, then KILL 10 s later) if it runs past the deadline; it writes
#      OUT_DIR/results.json after every row, so a kill keeps what was
#      measured.
# OUT_DIR gets install.log, mmcv_build.log, check.log, results.json.
# --dry-run skips 1-2 (the current environment must already hold mmcv,
# mmengine, mmseg and mmseg_ext) and rehearses step 3 on the CPU.
# Environment: PYTHON (default python3), GPU_CHECK_BUDGET_S (default 480:
# the whole script, build included), GPU_CHECK_CARRY (default .gpu_carry),
# GPU_CHECK_SITE (default /tmp/gpu_check_site), MMCV_CUDA_OPS,
# TORCH_CUDA_ARCH_LIST.
set -uo pipefail

START=$(date +%s)
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: bash tools/gpu/gpu_check.sh OUT_DIR [--dry-run] [DRIVER OPTIONS...]" >&2
    exit 2
fi
OUT=$1
shift
DRY=0
ARGS=()
for arg in "$@"; do
    if [ "$arg" = "--dry-run" ]; then DRY=1; else ARGS+=("$arg"); fi
done
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET_S:-480}
CARRY=${GPU_CHECK_CARRY:-.gpu_carry}
SITE=${GPU_CHECK_SITE:-/tmp/gpu_check_site}
DEADLINE=$((START + BUDGET))
MARGIN=15  # seconds the driver keeps free before the kill
if [ ! -f tools/gpu/check.py ]; then
    echo "run from the repository root (tools/gpu/check.py not found in $PWD)" >&2
    exit 2
fi
mkdir -p "$OUT" || exit 2
LOG="$OUT/install.log"
: >"$LOG"
log() { echo "$(date -u +%H:%M:%S) $*" | tee -a "$LOG"; }

log "gpu_check start, budget ${BUDGET}s, deadline $(date -u -d @"$DEADLINE" +%H:%M:%S)"
META=(script_start_epoch="$START")
if [ "$DRY" = 1 ]; then
    log "dry run: no install, no mmcv build; using $($PY -c 'import sys; print(sys.executable)')"
    META+=(install=skipped-dry-run mmcv_build=skipped-dry-run)
    ARGS+=(--dry-run)
else
    nvidia-smi >>"$LOG" 2>&1 || log "nvidia-smi failed"
    for need in "$CARRY/wheels" "$CARRY/sdist/mmcv-2.1.0.tar.gz"; do
        if [ ! -e "$need" ]; then
            log "missing $need: make the carry folder with 'bash tools/gpu/pack_wheels.sh' and carry $CARRY"
            exit 2
        fi
    done
    t0=$(date +%s)
    if ! $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --upgrade --target "$SITE" "$CARRY"/wheels/*.whl >>"$LOG" 2>&1; then
        log "wheel install failed (see $LOG)"
        exit 3
    fi
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    META+=(install_s=$(($(date +%s) - t0)))
    log "wheels installed into $SITE in $(($(date +%s) - t0))s"

    t0=$(date +%s)
    BUILD_ENV=(MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)")
    if [ "${MMCV_CUDA_OPS:-0}" = 1 ]; then
        BUILD_ENV+=(FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}")
        OPS=cuda
    else
        BUILD_ENV+=(CUDA_VISIBLE_DEVICES=)
        OPS=cpu
    fi
    log "building mmcv 2.1.0 ($OPS ops, ${BUILD_ENV[*]})"
    if ! env "${BUILD_ENV[@]}" timeout $((DEADLINE - $(date +%s) - 60)) \
            $PY -m pip install --no-index --no-deps --no-build-isolation \
            --no-cache-dir --target "$SITE" "$CARRY/sdist/mmcv-2.1.0.tar.gz" \
            >"$OUT/mmcv_build.log" 2>&1; then
        log "mmcv build failed or ran out of time after $(($(date +%s) - t0))s (see mmcv_build.log)"
        exit 3
    fi
    BUILD_S=$(($(date +%s) - t0))
    META+=(mmcv_build_s="$BUILD_S" mmcv_ops="$OPS" nproc="$(nproc)")
    log "mmcv built in ${BUILD_S}s"
fi

LEFT=$((DEADLINE - $(date +%s)))
log "driver: ${LEFT}s left"
timeout --signal=TERM --kill-after=10 "$LEFT" \
    $PY -m tools.gpu.check "$OUT" --deadline $((DEADLINE - MARGIN)) \
    --meta "${META[@]}" "${ARGS[@]}"
RC=$?
log "driver exit $RC after $(($(date +%s) - START))s in all"
exit $RC
