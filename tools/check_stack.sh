#!/usr/bin/env bash
# Build a separate virtual environment for one named stack and run the test
# suite in it: proof that mmseg_ext installs and works on that stack.
#
#   bash tools/check_stack.sh PROFILE [pytest args...]   (default: tests)
#
# Profiles (README "Install" lists the results):
#   oldest      torch 2.1.2 (PyPI's wheel, a CUDA 12.1 build that runs on CPU;
#               the venv is ~4.7 GB), numpy 1.26.4, opencv <4.11, mmcv 2.1.0
#               built against it -- OpenMMLab's torch2.1 / mmcv 2.1.0 matrix.
#   cuda-torch  PyPI's torch 2.13.0 (CUDA build, runs on CPU) + torchvision
#               0.28.0 + timm: the stack of a GPU user; the EfficientNet-B4
#               configs run here.
#   newest      torch 2.13.0+cpu, numpy 2.x: what tools/setup_env.sh installs
#               by default (CI's stack).
#
# The venv is .venv-PROFILE (git-ignored; $STACK_VENV overrides); it is
# reused when it exists (delete it to rebuild). tools/setup_env.sh does the
# install proper, keeping the profile's torch; a cached mmcv wheel is taken
# from $MMSEG_EXT_WHEELS when set (see ../shared/wheels/README.md), otherwise
# pip builds mmcv from its sdist. Logs and timings go to .stack-logs/.
# Run it with `nice`: the mmcv build and the suite are CPU-heavy.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile="${1:?usage: tools/check_stack.sh oldest|cuda-torch|newest [pytest args]}"
shift
[ "$#" -gt 0 ] || set -- tests

shared_wheels="$root/../shared/wheels"
first=()             # installed first: the stack's torch and its companions
wheels=""
no_find_links=0
case "$profile" in
    oldest)
        first=("torch==2.1.2" "numpy==1.26.4")
        wheels="$shared_wheels/torch2.1.2" ;;
    cuda-torch)
        first=("torch==2.13.0" "torchvision==0.28.0" "timm")
        # a local find-links folder may hold torch 2.13.0+cpu, which pip would
        # prefer (2.13.0+cpu sorts above 2.13.0): look at the index only
        no_find_links=1
        wheels="$shared_wheels" ;;
    newest)
        first=("torch==2.13.0")
        wheels="$shared_wheels" ;;
    *)
        echo "unknown profile '$profile' (oldest, cuda-torch, newest)" >&2
        exit 2 ;;
esac

venv="${STACK_VENV:-$root/.venv-$profile}"
logs="$root/.stack-logs"
mkdir -p "$logs"
log="$logs/$profile.log"
python="${PYTHON:-python3}"
t0=$(date +%s)
echo "[stack $profile] $(date -u +%FT%TZ) venv $venv" | tee "$log"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if [ "$no_find_links" = 1 ]; then
    PIP_FIND_LINKS="" PIP_CONFIG_FILE=/dev/null "${pip[@]}" install -q "${first[@]}" 2>&1 | tee -a "$log"
else
    "${pip[@]}" install -q "${first[@]}" 2>&1 | tee -a "$log"
fi
# keep exactly what was just installed through the rest of the install
constraints="$venv/.profile-constraints.txt"
"${pip[@]}" freeze | grep -iE '^(torch|torchvision|numpy)==' > "$constraints" || true
if [ -d "$wheels" ] && [ -z "${MMSEG_EXT_WHEELS:-}" ]; then
    export MMSEG_EXT_WHEELS="$wheels"
fi
PIP_CONSTRAINT="$constraints" MMSEG_EXT_VENV="$venv" bash tools/setup_env.sh 2>&1 | tee -a "$log"
t1=$(date +%s)

"$venv/bin/python" - <<'EOF' 2>&1 | tee -a "$log"
import platform

import mmcv
import mmengine
import mmseg
import numpy
import torch
print(f'[stack] python {platform.python_version()} | torch {torch.__version__} '
      f'| numpy {numpy.__version__} | mmcv {mmcv.__version__} '
      f'| mmengine {mmengine.__version__} | mmseg {mmseg.__version__}')
EOF
echo "[stack $profile] venv ready in $((t1 - t0)) s ($(du -sh "$venv" | cut -f1))" | tee -a "$log"

set +e
"$venv/bin/python" -m pytest -q -rs -p no:cacheprovider "$@" 2>&1 | tee -a "$log"
rc=${PIPESTATUS[0]}
set -e
t2=$(date +%s)
echo "[stack $profile] $(date -u +%FT%TZ) suite in $((t2 - t1)) s, pytest exit $rc" | tee -a "$log"
exit "$rc"
