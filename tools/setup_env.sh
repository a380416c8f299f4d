#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv.
#
# Idempotent: a second run installs nothing new. The slow step is mmcv 2.1.0,
# which has no wheel for torch 2.13 / cp311 and is compiled from its sdist with
# its CPU ops (about 12 minutes on 2 cores, once per machine):
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
want="$( (cat requirements.txt requirements-test.txt requirements-deploy.txt setup.cfg pyproject.toml;
         find mmseg_ext -type f -name '*.py' | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && (cd / && "$py" -c "import mmcv._ext, mmseg, mmseg_ext") 2>/dev/null; then
    echo "[setup] $venv is up to date"
    exit 0
fi

find_links=()
wheels="${MMSEG_EXT_WHEELS:-$root/../shared/wheels}"
if [ -d "$wheels" ]; then
    find_links=(--find-links "$wheels")
    echo "[setup] using cached wheels from $wheels"
fi

# 1. Build prerequisites for mmcv (it is built without build isolation, against this torch).
"${pip[@]}" install -q "setuptools<82" wheel ninja "numpy>=2,<3" "torch==2.13.0"

# 2. mmcv with compiled ops. CUDA_VISIBLE_DEVICES="" makes its setup.py take the CPU path.
if ! "$py" -c "import mmcv, mmcv._ext; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
    echo "[setup] installing mmcv 2.1.0 with ops (first build from source takes ~12 min on 2 cores)"
    MMCV_WITH_OPS=1 CUDA_VISIBLE_DEVICES="" MAX_JOBS="${MAX_JOBS:-2}" \
        "${pip[@]}" install --no-build-isolation "${find_links[@]}" "mmcv==2.1.0"
fi

# 3. The rest of the stack, then openmim without its unused opendatalab dependency.
"${pip[@]}" install -q --no-build-isolation "${find_links[@]}" -r requirements.txt -r requirements-test.txt -r requirements-deploy.txt
"${pip[@]}" install -q --no-deps "openmim==0.3.9"

# 4. Ourselves, from this checkout only (--no-deps: nothing is looked up by our name).
"${pip[@]}" install -q --no-deps --no-build-isolation --force-reinstall "$root"
rm -rf "$root/build"

(cd / && "$py" -c "import mmcv._ext, mmseg, mmseg_ext; print('[setup] ok: mmcv', __import__('mmcv').__version__, '| mmseg', mmseg.__version__, '| torch', __import__('torch').__version__)")
echo "$want" > "$stamp"
