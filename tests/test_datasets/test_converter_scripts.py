"""The ``tools/dataset_converters`` scripts run as users type them: each is a
thin command line over :mod:`mmseg_ext.datasets.preparation` (the library is
tested in the other files of this folder; DeepGlobe's script also runs a
conversion in ``test_deepglobe.py``)."""
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO, clean_env


@pytest.mark.parametrize('script,options', [
    ('isaid.py', ['--patch-size', '--stride', '--exclude', '--nproc']),
    ('inria.py', ['--splits-dir', '--copy', '--nproc']),
    ('pascal_context.py', ['devkit_path', 'json_path', '--out_dir']),
])
def test_script_help_from_another_folder(script, options, tmp_path):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', script), '--help'
    ],
                          cwd=tmp_path,
                          env=clean_env(),
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f'usage: {script}')
    for option in options:
        assert option in proc.stdout
