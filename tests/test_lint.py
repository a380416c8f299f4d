"""Lint as OpenMMLab projects do: flake8, isort and yapf with the settings in
``setup.cfg`` (mmseg's), over the package, the tools, the tests and the
configs. ``.pre-commit-config.yaml`` runs the same three as local hooks."""
import subprocess
import sys

import pytest
from conftest import REPO

TREES = ['mmseg_ext', 'tools', 'tests', 'configs']


def _run(module, *args):
    return subprocess.run([sys.executable, '-m', module, *args, *TREES],
                          cwd=REPO,
                          capture_output=True,
                          text=True)


@pytest.mark.parametrize('module,args', [
    ('flake8', ()),
    ('isort', ('--check-only', '--diff')),
    ('yapf', ('--diff', '--recursive')),
])
def test_lint_clean(module, args):
    proc = _run(module, *args)
    assert proc.returncode == 0, (f'{module} reports (fix, or run it without '
                                  f'--check/--diff):\n{proc.stdout[-4000:]}'
                                  f'{proc.stderr[-2000:]}')
