"""The ``tools/dataset_converters`` scripts run as users type them: each is a
thin command line over :mod:`mmseg_ext.datasets.preparation` (the library is
tested in the other files of this folder; DeepGlobe's script also runs a
conversion in ``test_deepglobe.py``). The three ``--help`` runs share one
fresh interpreter (:func:`inprocess.run_scripts`), started in another
folder, so mmseg_ext is imported once."""
import os.path as osp

import inprocess
import pytest
from conftest import REPO, clean_env

SCRIPTS = {
    'isaid.py': ['--patch-size', '--stride', '--exclude', '--nproc'],
    'inria.py': ['--splits-dir', '--copy', '--nproc'],
    'pascal_context.py': ['devkit_path', 'json_path', '--out_dir'],
}


@pytest.fixture(scope='module')
def helps(tmp_path_factory):
    runs = [[osp.join(REPO, 'tools', 'dataset_converters', s), '--help']
            for s in SCRIPTS]
    return dict(
        zip(
            SCRIPTS,
            inprocess.run_scripts(runs, tmp_path_factory.mktemp('elsewhere'),
                                  clean_env())))


@pytest.mark.parametrize('script', list(SCRIPTS))
def test_script_help_from_another_folder(script, helps):
    code, stdout, stderr = helps[script]
    assert code == 0, stderr
    assert stdout.startswith(f'usage: {script}')
    for option in SCRIPTS[script]:
        assert option in stdout
