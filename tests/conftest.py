"""Shared test fixtures: repository paths and the real sample data.

The sample data (real Cityscapes/iSAID/... crops) is never copied into the
repository. It is found, in order, at ``$MMSEG_EXT_DATA``, ``<repo>/data``
(``.ci/run`` links ``../shared/data/*`` there) and ``<repo>/../shared/data``.
"""
import os
import os.path as osp
import shutil
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VENV_BIN = osp.dirname(sys.executable)


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


@pytest.fixture(autouse=True, scope='session')
def _registered():
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import mmseg_ext  # noqa: F401
