"""``tools/misc/make_golden.py`` and ``tools.fidelity.golden`` without the
official code: the builders import it only inside ``build()``, and say how to
provide it; the shared helpers are deterministic and scoped to one build.

(Rebuilding the fixtures themselves needs the official checkouts: see the
docstrings of ``tests/test_fidelity/test_sfnet_parity.py`` and
``test_pfnet_parity.py``.)
"""
import ast
import importlib
import importlib.util
import os.path as osp
import subprocess
import sys

import inprocess
import pytest
import torch
import torch.nn as nn
from conftest import REPO, clean_env

from tools.fidelity.golden import common

CLI = osp.join(REPO, 'tools', 'misc', 'make_golden.py')
# builder -> (official repository, a top-level module its build() imports)
BUILDERS = {
    'sfnet': ('lxtGH/SFSegNets', ('config', 'network')),
    'pfnet': ('lxtGH/PFSegNets', ('config', 'network')),
    'pfnet_isaid_data': ('lxtGH/PFSegNets', ('datasets', )),
}


def _hide(monkeypatch, names):
    """Make ``import name`` fail here whatever is installed."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def test_builders_import_without_official_code():
    """In a fresh interpreter: importing every builder imports nothing of
    the official code (nor its stand-ins)."""
    names = ', '.join(f'tools.fidelity.golden.{n}' for n in BUILDERS)
    # what the package itself loads is the baseline: where timm imports,
    # mmseg's TIMMBackbone module brings torchvision with it
    code = ('import sys\n'
            'def top(): return {m.split(".")[0] for m in sys.modules}\n'
            'import mmseg_ext.models\n'
            'base = top()\n'
            f'import {names}\n'
            'print(sorted(top() - base))')
    env = clean_env()
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    added = set(ast.literal_eval(proc.stdout.strip().splitlines()[-1]))
    assert not added & {
        'network', 'config', 'datasets', 'transforms', 'loss', 'apex',
        'torchvision', 'natsort', 'skimage'
    }, added
    for name in BUILDERS:
        module = importlib.import_module(f'tools.fidelity.golden.{name}')
        assert callable(module.build)


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_build_without_official_code_says_how(name, monkeypatch, tmp_path,
                                              data_root):
    repo, top_level = BUILDERS[name]
    _hide(monkeypatch, top_level)
    module = importlib.import_module(f'tools.fidelity.golden.{name}')
    out = tmp_path / 'golden.pth'
    opts = dict(data_root=osp.join(data_root, 'isaid')) \
        if name == 'pfnet_isaid_data' else {}
    with pytest.raises(ImportError) as err:
        module.build(str(out), **opts)
    msg = str(err.value)
    assert repo in msg and name in msg
    assert f'PYTHONPATH=/path/to/{repo.split("/")[1]}' in msg
    assert 'python -m tools.misc.make_golden' in msg
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert 'apex' not in sys.modules or importlib.util.find_spec('apex')


def test_missing_dependency_of_official_code_is_named(monkeypatch):
    code = common.OfficialCode('lxtGH/PFSegNets', 'e613a59', 'pfnet')
    with pytest.raises(ImportError, match='lxtGH/PFSegNets.*PYTHONPATH'):
        code.import_module('no_such_module_gold1.sub')
    # a module found on the path that imports a missing package (as the
    # official dataset code imports natsort / scikit-image)
    monkeypatch.delitem(sys.modules, 'tomllib', raising=False)
    monkeypatch.setitem(sys.modules, 'tomllib._parser', None)
    with pytest.raises(
            ImportError,
            match=r"imports 'tomllib._parser', which is not installed "
            r'\(pip install tomllib\)'):
        code.import_module('tomllib')


@pytest.fixture(scope='module')
def cli_runs(tmp_path_factory):
    """``(exit code, stdout, stderr)`` of the CLI without official code, on
    an unknown builder and on a malformed ``--opt``: three command lines
    run in one fresh interpreter (:func:`inprocess.run_scripts`, mmseg_ext
    imported once)."""
    out = tmp_path_factory.mktemp('golden')
    env = clean_env()
    env.pop('PYTHONPATH', None)
    runs = inprocess.run_scripts(
        [[CLI, 'sfnet', '--out', out / 'sfnet_golden.pth'],
         [CLI, 'nope', '--out', out / 'x.pth'],
         [CLI, 'sfnet', '--out', 'x.pth', '--opt', 'novalue']], REPO, env)
    return dict(zip(('sfnet', 'nope', 'bad_opt'), runs)), out


def test_cli_without_official_code(cli_runs):
    if importlib.util.find_spec('network') is not None:
        pytest.skip('an official checkout is importable here')
    runs, out = cli_runs
    code, _, stderr = runs['sfnet']
    assert code == 1, stderr
    assert 'lxtGH/SFSegNets' in stderr
    assert 'PYTHONPATH=/path/to/SFSegNets' in stderr
    assert not (out / 'sfnet_golden.pth').exists()


def test_cli_unknown_builder(cli_runs):
    runs, _ = cli_runs
    code, _, stderr = runs['nope']
    assert code == 1
    assert "no golden builder 'nope'" in stderr
    for name in BUILDERS:
        assert name in stderr
    assert runs['bad_opt'][0] == 2


def test_stubs_live_only_inside_the_build():
    if importlib.util.find_spec('apex') is not None:
        pytest.skip('apex is installed: no stand-in is registered')
    with common.OfficialCode('a/b', 'c', 'x', {'apex': common.apex_stub}):
        import apex
        from apex import amp
        assert amp.float_function(len) is len
        assert apex.parallel.SyncBatchNorm is nn.SyncBatchNorm
    assert 'apex' not in sys.modules and 'apex.amp' not in sys.modules


def test_cuda_calls_on_cpu_is_scoped():
    t = torch.zeros(2)
    with common.cuda_calls_on_cpu():
        assert t.cuda() is t
        m = nn.Conv2d(1, 1, 1)
        assert m.cuda() is m
    assert 'cuda' not in torch.Tensor.__dict__
    assert nn.Module.cuda is not None and 'cuda' in nn.Module.__dict__


def test_randomize_is_deterministic_and_complete():

    def make(seed):
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        return common.randomize_(net, torch.Generator().manual_seed(seed))

    a, b, c = make(1).state_dict(), make(1).state_dict(), make(2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a['0.weight'], c.state_dict()['0.weight'])
    var = a['1.running_var']
    assert ((var >= 0.5) & (var <= 1.5)).all()
    with pytest.raises(TypeError, match='Linear'):
        common.randomize_(nn.Linear(2, 2), torch.Generator())
