"""The deployment path is as strict as the test entry.

* ``tools/deploy/deploy.py`` refuses a checkpoint of another model (an
  SFNet-R18 checkpoint under the R50 config: mmengine alone exports it after
  102 size-mismatch warnings), an empty and a truncated checkpoint, naming
  the file, before anything is written; ``--allow-partial-load`` exports on
  purpose.
* ``deploy.json`` records the model config's identity; ``mim test
  mmseg_ext CFG EXPORT --backend ...`` and ``tools/fps_test.py
  --backend-model`` refuse an export of another model, naming both configs
  (``--allow-config-mismatch`` runs it on purpose).

The refusals come before any export; the export itself is replaced by a
stub that records what ``deploy.json`` would hold.
"""
import glob
import json
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ext.benchmark import cli as fps_cli
from mmseg_ext.deploy import cli
from mmseg_ext.deploy.identity import (check_export_matches_config,
                                       model_config_sha256)
from mmseg_ext.tools import test as test_entry
from tools.main_job.sfnet import R18, R50

DEPLOY_CFG = 'configs/deploy/segmentation_onnxruntime_static-512x1024.py'

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


@pytest.fixture(scope='module')
def r18_checkpoint(tmp_path_factory):
    model = MODELS.build(Config.fromfile(osp.join(REPO, R18)).model)
    path = tmp_path_factory.mktemp('ckpt') / 'r18.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return str(path)


@pytest.fixture
def image(cityscapes_root):
    return sorted(
        glob.glob(
            osp.join(cityscapes_root, 'leftImg8bit', 'val', '*',
                     '*_leftImg8bit.png')))[0]


def _deploy(config, checkpoint, work, image='x.png', *extra):
    return cli.main([
        DEPLOY_CFG, config, checkpoint, image, '--work-dir',
        str(work), *extra
    ])


class _Exported(Exception):
    """Raised by the export stub with the deploy.json extras."""


def test_mismatched_checkpoint_is_refused_partial_load_opt_in(
        r18_checkpoint, tmp_path, image, monkeypatch):
    with pytest.raises(RuntimeError) as err:
        _deploy(R50, r18_checkpoint, tmp_path / 'refused')
    msg = str(err.value)
    assert f'checkpoint {r18_checkpoint} does not match' in msg
    assert '101 key(s) with mismatched shapes' in msg
    assert '160 missing key(s)' in msg
    assert not (tmp_path / 'refused').exists()

    def stub(*args, deploy_info=None, **kwargs):
        raise _Exported(deploy_info)

    monkeypatch.setattr(cli, 'export_onnx', stub)
    with pytest.raises(_Exported) as exported:
        _deploy(R50, r18_checkpoint, tmp_path / 'partial', image, '--shape',
                '64', '128', '--allow-partial-load')
    info = exported.value.args[0]
    assert info['partial_load'] is True
    assert info['model_config'] == R50
    assert info['model_config_sha256'] == model_config_sha256(
        Config.fromfile(R50).model)


@pytest.mark.parametrize('cut', ['empty', 'truncated'])
def test_empty_or_truncated_checkpoint_is_refused_naming_it(
        r18_checkpoint, tmp_path, cut):
    with open(r18_checkpoint, 'rb') as f:
        data = f.read()
    path = tmp_path / f'{cut}.pth'
    path.write_bytes(b'' if cut == 'empty' else data[:len(data) // 2])
    expected = 'is empty' if cut == 'empty' else 'is truncated or damaged'
    with pytest.raises(ValueError, match=expected) as err:
        _deploy(R18, str(path), tmp_path / 'out')
    assert str(path) in str(err.value)
    assert not (tmp_path / 'out').exists()
    # the test entry refuses it the same way, before building anything
    with pytest.raises(ValueError, match=expected):
        test_entry.main([R18, str(path), '--work-dir', str(tmp_path / 't')])


@pytest.fixture
def r18_export(tmp_path):
    """A stand-in export folder whose deploy.json records the R18 config
    (what tools/deploy/deploy.py writes); the model file is never run."""
    folder = tmp_path / 'export'
    folder.mkdir()
    (folder / 'end2end.onnx').write_bytes(b'not run')
    info = dict(
        backend='onnxruntime',
        model_config=R18,
        model_config_sha256=model_config_sha256(Config.fromfile(R18).model))
    (folder / 'deploy.json').write_text(json.dumps(info))
    return str(folder)


def test_export_identity_is_compared_with_the_config(r18_export):
    assert check_export_matches_config(r18_export, R18) is True
    assert check_export_matches_config(
        osp.join(r18_export, 'end2end.onnx'), Config.fromfile(R18)) is True
    with pytest.raises(ValueError) as err:
        check_export_matches_config(r18_export, R50)
    msg = str(err.value)
    assert f'{r18_export} was exported from {R18}' in msg
    assert f'not from {R50}' in msg and '--allow-config-mismatch' in msg
    assert check_export_matches_config(
        r18_export, R50, allow_mismatch=True) is False
    # the test resize or a training crop is no other model
    cfg = Config.fromfile(R18)
    cfg.model.test_cfg = dict(
        mode='slide', crop_size=(64, 64), stride=(32, 32))
    cfg.model.data_preprocessor.size = (32, 64)
    assert check_export_matches_config(r18_export, cfg) is True
    cfg.model.decode_head.num_classes = 10
    with pytest.raises(ValueError):
        check_export_matches_config(r18_export, cfg)


def test_test_entry_and_fps_test_refuse_an_export_of_another_model(
        r18_export, tmp_path):
    with pytest.raises(ValueError, match=f'not from {R50}'):
        test_entry.main([
            R50, r18_export, '--backend', 'onnxruntime', '--work-dir',
            str(tmp_path / 'test')
        ])
    assert not glob.glob(str(tmp_path / 'test' / '*' / '*.json'))
    with pytest.raises(ValueError, match=f'not from {R50}'):
        fps_cli.main([
            R50, '--height', '64', '--width', '128', '--device', 'cpu',
            '--backend', 'onnxruntime', '--backend-model', r18_export
        ])
