"""What the installed distribution holds: the product, not the dev tooling.

The wheel built from this checkout must hold only ``mmseg_ext`` (models,
datasets, engine hooks, evaluation, apis, deploy, benchmark, converters, the
``mim test`` entry) and mim's ``.mim`` configs; the golden builders
(``tools/fidelity``) and the main job (``tools/main_job``) stay in the
repository. No installed module may compute a path into a checkout
(``osp.join('tools', ...)``, ``'tools/fps_test.py'``): an installed package
has no ``tools/`` beside it.
"""
import ast
import re
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

#: Module names of the dev tooling that must never be installed.
DEV_ONLY = ('fidelity', 'golden', 'main_job', 'jobs', 'testing', 'same_loop',
            'train_parity')
#: A string literal that is a path into a checkout, not prose.
CHECKOUT_PATH = re.compile(r'^(tools|configs)(/[\w./-]*)?$')


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
        '--no-build-isolation', '-w',
        str(out), REPO
    ],
                   check=True)
    (path, ) = out.glob('mmseg_ext-*.whl')
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


#: Calls that turn a string into a file system path or a command.
PATH_CALLS = {
    'join', 'Path', 'open', 'exists', 'isfile', 'isdir', 'abspath', 'run',
    'Popen', 'call', 'check_call', 'check_output', 'run_path'
}


def checkout_paths(source: str):
    """Checkout paths that ``source`` builds or opens (not prose).

    A string literal ``tools``, ``configs`` or ``tools/...`` given to a path
    or process call (``osp.join('tools', 'fps_test.py')``,
    ``subprocess.run(['python', 'tools/x.py'])``) is a hit; the same text in
    a docstring or a message telling a user which command to run is not.
    """
    hits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(
            func, 'id', None)
        if name not in PATH_CALLS:
            continue
        for arg in ast.walk(ast.Tuple(elts=list(node.args), ctx=ast.Load())):
            if isinstance(arg, ast.Constant) and isinstance(
                    arg.value, str) and CHECKOUT_PATH.match(arg.value):
                hits.append(arg.value)
    return hits


def test_wheel_holds_only_the_package(wheel):
    tops = {name.split('/')[0] for name in wheel}
    assert {t for t in tops if not t.endswith('.dist-info')} == {'mmseg_ext'}
    modules = [n for n in wheel if n.endswith('.py') and '/.mim/' not in n]
    assert 'mmseg_ext/models/__init__.py' in modules
    assert 'mmseg_ext/tools/test.py' in modules  # what `mim test` runs
    leaked = [n for n in modules if set(n[:-3].split('/')) & set(DEV_ONLY)]
    assert leaked == []


def test_wheel_carries_the_model_zoo_for_mim(wheel):
    assert 'mmseg_ext/.mim/model-index.yml' in wheel
    assert any(
        n.startswith('mmseg_ext/.mim/configs/sfnet/sfnet_r18') for n in wheel)


def test_no_installed_module_names_a_checkout_path(wheel):
    found = {}
    for name, data in wheel.items():
        if name.endswith('.py') and '/.mim/' not in name:
            hits = checkout_paths(data.decode())
            if hits:
                found[name] = hits
    assert found == {}


def test_checkout_path_check_catches_a_path():
    """The check itself finds what the main job used to hard-code."""
    src = ('"""Run ``tools/fps_test.py``."""\nimport os.path as osp\n'
           "FPS = osp.join('tools', 'fps_test.py')\n"
           "subprocess.run([sys.executable, 'tools/fps_test.py'])\n"
           "MSG = 'run tools/x.py first'\nCLI = 'tools/x.py'\n")
    assert checkout_paths(src) == ['tools', 'tools/fps_test.py']
