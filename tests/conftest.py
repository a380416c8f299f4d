"""Shared test fixtures: repository paths and the real sample data.

The sample data (real Cityscapes/iSAID/... crops) is never copied into the
repository. It is found, in order, at ``$MMSEG_EXT_DATA``, ``<repo>/data``
(``.ci/run`` links ``../shared/data/*`` there) and ``<repo>/../shared/data``.
"""
import hashlib
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VENV_BIN = osp.dirname(sys.executable)


def is_deploy_or_base_config(path: str) -> bool:
    """True for a config under ``configs/_base_`` or ``configs/deploy``.

    Those are bases and deploy configs (backend settings, see
    ``mmseg_ext/deploy``), not model configs: no model, no dataset, no
    metafile entry.
    """
    rel = osp.relpath(osp.abspath(path), osp.join(REPO, 'configs'))
    return rel.split(os.sep)[0] in ('_base_', 'deploy')


def clean_env() -> dict:
    """``os.environ`` without ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

    Subprocesses must load checkpoints with torch's ``weights_only=True``
    default, as users' commands do (``import mmseg_ext`` allow-lists what
    mmengine checkpoints hold).
    """
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return env


def run_command(cmd, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` (items made ``str``) from the repository root.

    Uses :func:`clean_env`, captures stdout/stderr as text.

    Raises:
        AssertionError: If ``check`` and the command exits non-zero; the
            message holds the command and the last 3000 characters of its
            stdout and stderr.
    """
    proc = subprocess.run([str(c) for c in cmd],
                          cwd=REPO,
                          env=clean_env(),
                          capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(map(str, cmd))} failed ({proc.returncode}):\n'
            f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def max_abs_diff(name: str, ours, ref) -> float:
    """Max abs difference of two same-shape tensors, printed with ``name``
    and the reference's magnitude (parity tests report it; run ``-s``)."""
    assert ours.shape == ref.shape, (name, ours.shape, ref.shape)
    diff = (ours - ref).abs().max().item()
    print(f'{name}: max abs diff {diff:.3e} (|ref| max '
          f'{ref.abs().max().item():.3f})')
    return diff


def tree_snapshot(folder) -> dict:
    """``{relative path: (size, mtime_ns, sha256, mode)}`` of every file
    under ``folder``: equal snapshots mean no file was added, removed,
    rewritten, touched or re-moded (e.g. a converter's source)."""
    snap = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = osp.join(root, name)
            st = os.stat(path)
            with open(path, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            snap[osp.relpath(path, folder)] = (st.st_size, st.st_mtime_ns,
                                               digest, st.st_mode)
    return snap


def _data_root() -> str:
    for cand in (os.environ.get('MMSEG_EXT_DATA'), osp.join(REPO, 'data'),
                 osp.join(REPO, '..', 'shared', 'data')):
        if cand and osp.isdir(osp.join(cand, 'cityscapes')):
            return osp.abspath(cand)
    raise RuntimeError(
        'real sample data not found: set MMSEG_EXT_DATA or link '
        '../shared/data/* into data/ (see README)')


@pytest.fixture(scope='session')
def data_root() -> str:
    return _data_root()


@pytest.fixture(scope='session')
def cityscapes_root(data_root) -> str:
    return osp.realpath(osp.join(data_root, 'cityscapes'))


@pytest.fixture(scope='session')
def mim() -> str:
    """The ``mim`` executable of the environment running the tests."""
    exe = osp.join(VENV_BIN, 'mim')
    if not osp.exists(exe):
        exe = shutil.which('mim')
    if exe is None:
        raise RuntimeError('mim not found next to the test interpreter')
    return exe


@pytest.fixture
def one_thread():
    """Run the test with one torch intra-op thread.

    On a busy 2-core box OpenMP spin-waiting makes multi-threaded convs and
    forwards up to ~10x slower. Use with
    ``pytestmark = pytest.mark.usefixtures('one_thread')``.
    """
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def repo_root_one_thread(monkeypatch, one_thread):
    """:func:`one_thread`, run from the repository root (configs given
    relative to it, as users type them)."""
    monkeypatch.chdir(REPO)


@pytest.fixture(autouse=True, scope='session')
def _registered():
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import mmseg_ext  # noqa: F401


def _onnx_export_unsupported():
    from mmseg_ext.deploy.exporting import onnx_export_unsupported
    return onnx_export_unsupported()


#: Marks a test that exports through ``export_onnx``: skipped, with the
#: reason, on torch < 2.6 (the oldest stack), which lacks the exporter's
#: features (:mod:`mmseg_ext.deploy.exporting`).
needs_onnx_export = pytest.mark.skipif(
    _onnx_export_unsupported() is not None,
    reason=str(_onnx_export_unsupported()))
