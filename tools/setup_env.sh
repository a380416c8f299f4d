#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv.
#
# Idempotent: a second run installs nothing new. A torch already in the venv is
# kept when it lies in the supported range (2.1 ... 2.13, see requirements.txt).
# The slow step is mmcv 2.1.0, which has no wheel for torch 2.13 / cp311 and is
# compiled from its sdist against the venv's torch: CPU ops (about 12 minutes
# on 2 cores, once per machine), plus CUDA ops where a GPU and nvcc exist:
#   * the built wheel lands in pip's wheel cache, so later venvs on the same
#     machine reuse it instead of compiling again;
#   * if ../shared/wheels (or $MMSEG_EXT_WHEELS) holds a wheel built from the same
#     sdist, pip takes it via --find-links; without it pip builds from source.
# Our own distribution (`mmseg_ext`, PyPI has an unrelated `mmseg-ext`) is only
# ever installed from this checkout, never resolved from a registry. It is a
# regular (non-editable) install: `mim test mmseg_ext` runs
# <site-packages>/mmseg_ext/tools/test.py, which a PEP 660 editable install does
# not create. The stamp below covers our sources, so after editing mmseg_ext/
# re-running this script reinstalls it (seconds).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${MMSEG_EXT_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "[setup] creating $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check)

stamp="$venv/.mmseg_ext-setup"
want="$( (cat requirements.txt requirements-test.txt requirements-deploy.txt requirements-docs.txt setup.cfg pyproject.toml;
         find -L mmseg_ext -type f \( -name '*.py' -o -name '*.yml' -o -name '*.yaml' \) | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && (cd / && "$py" -c "import mmcv._ext, mmseg, mmseg_ext") 2>/dev/null; then
    echo "[setup] $venv is up to date"
    exit 0
fi

# 1. torch: one already in the supported range (requirements.txt) is kept, so a
#    GPU user's CUDA build or an older torch stays; otherwise torch 2.13.0.
"${pip[@]}" install -q "setuptools<82" wheel ninja packaging
torch_ok='import sys, torch; from packaging.version import Version as V
sys.exit(0 if V("2.1") <= V(torch.__version__.split("+")[0]) < V("2.14") else 1)'
if "$py" -c "$torch_ok" 2>/dev/null; then
    echo "[setup] keeping torch $("$py" -c 'import torch; print(torch.__version__)')"
else
    "${pip[@]}" install -q "torch==2.13.0"
fi
torch_v="$("$py" -c 'import torch; print(torch.__version__.split("+")[0])')"

# torch < 2.3 is compiled against numpy 1.x and breaks under numpy 2
# ("_ARRAY_API not found"); opencv >= 4.11 requires numpy 2 and would pull it
# back in. These caps apply to every pip call below, and only on such a torch.
stack_constraints="$venv/.stack-constraints.txt"
if "$py" -c 'import sys, torch; from packaging.version import Version as V
sys.exit(0 if V(torch.__version__.split("+")[0]) < V("2.3") else 1)'; then
    printf '%s\n' "numpy>=1.26,<2" "opencv-python<4.11" \
        "opencv-python-headless<4.11" > "$stack_constraints"
else
    printf '%s\n' "numpy>=1.26,<3" > "$stack_constraints"
fi
export PIP_CONSTRAINT="${PIP_CONSTRAINT:-} $stack_constraints"
"${pip[@]}" install -q "numpy>=1.26,<3"

# A cached mmcv wheel only loads under the torch it was built against (C++ ABI):
# ../shared/wheels/torch<version>/ for that torch, the folder itself for
# torch 2.13.0 (see its README). $MMSEG_EXT_WHEELS is taken as given.
find_links=()
wheels="${MMSEG_EXT_WHEELS:-}"
if [ -z "$wheels" ]; then
    if [ -d "$root/../shared/wheels/torch$torch_v" ]; then
        wheels="$root/../shared/wheels/torch$torch_v"
    elif [ "$torch_v" = "2.13.0" ]; then
        wheels="$root/../shared/wheels"
    fi
fi

# 2. mmcv with compiled ops, built against this torch. With a visible CUDA GPU
#    and nvcc it builds the CUDA kernels too (FORCE_CUDA=1) for that GPU's
#    architecture ($TORCH_CUDA_ARCH_LIST overrides); otherwise
#    CUDA_VISIBLE_DEVICES="" makes its setup.py take the CPU path.
mmcv_env=(MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}")
mmcv_check='import mmcv, mmcv._ext, torch
from mmcv.ops import nms
assert mmcv.__version__ == "2.1.0"
boxes = torch.tensor([[0., 0., 4., 4.], [0., 0., 4., 4.2]])
assert len(nms(boxes, torch.tensor([0.9, 0.8]), 0.5)[1]) == 1'
if nvcc="$(command -v nvcc || ls "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" 2>/dev/null)" \
        && "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    arch="${TORCH_CUDA_ARCH_LIST:-$("$py" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')}"
    mmcv_env+=(FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$arch")
    mmcv_check+='
from mmcv.ops import get_compiling_cuda_version
assert get_compiling_cuda_version() != "not available", "mmcv built without CUDA"'
    # the cached wheels hold CPU kernels only
    wheels=""
    mmcv_what="CUDA ops for sm_$arch ($nvcc; ~20-40 min on 2 cores)"
else
    mmcv_env+=(CUDA_VISIBLE_DEVICES="")
    mmcv_what="CPU ops (first build from source takes ~12 min on 2 cores)"
fi
if [ -n "$wheels" ] && [ -d "$wheels" ]; then
    find_links=(--find-links "$wheels")
    echo "[setup] using cached wheels from $wheels"
fi
if ! (cd / && "$py" -c "$mmcv_check") 2>/dev/null; then
    echo "[setup] installing mmcv 2.1.0 with $mmcv_what against torch $torch_v"
    env "${mmcv_env[@]}" "${pip[@]}" install --no-build-isolation \
        "${find_links[@]}" "mmcv==2.1.0"
    if ! (cd / && "$py" -c "$mmcv_check") 2>/dev/null; then
        # pip's wheel cache is keyed by the sdist, not by torch: a wheel built
        # against another torch (or without CUDA) lands here; build afresh
        echo "[setup] that mmcv does not load under torch $torch_v; building it from the sdist"
        env "${mmcv_env[@]}" "${pip[@]}" install --no-build-isolation --no-deps \
            --no-cache-dir --force-reinstall --no-binary mmcv "mmcv==2.1.0"
    fi
fi

# 3. The rest of the stack (docs tools included), then openmim without its unused opendatalab dependency.
"${pip[@]}" install -q --no-build-isolation "${find_links[@]}" -r requirements.txt -r requirements-test.txt -r requirements-deploy.txt \
    -r requirements-docs.txt
"${pip[@]}" install -q --no-deps "openmim==0.3.9"

# 4. Ourselves, from this checkout only (--no-deps: nothing is looked up by our name).
"${pip[@]}" install -q --no-deps --no-build-isolation --force-reinstall "$root"
rm -rf "$root/build"

(cd / && "$py" -c "import mmcv._ext, mmseg, mmseg_ext; print('[setup] ok: mmcv', __import__('mmcv').__version__, '| mmseg', mmseg.__version__, '| torch', __import__('torch').__version__)")
echo "$want" > "$stamp"
