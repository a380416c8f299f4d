"""Evaluating an exported model through a backend (``mim test mmseg_ext
... --backend``) gives the checkpoint's mIoU and the same Cityscapes
submission PNGs.

A tiny SFNet-R18 checkpoint is trained for a few iterations on the real
Cityscapes sample (the main job's short-run options), exported to ONNX at
the test resize (static shape), and evaluated through the test entry
(:func:`mmseg_ext.tools.test.main`) on the checkpoint, through ONNX Runtime
and through OpenVINO fp32.
"""
import os
import os.path as osp

import numpy as np
import pytest
from conftest import needs_onnx_export
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmseg_ext.tools import test as test_entry
from tools.main_job.cityscapes import (cityscapes_test_options,
                                       cityscapes_train_options)
from tools.main_job.outputs import read_test_metrics

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R18_TEST = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py'
ITERS = 3
CROP = (64, 128)  # training crop (h, w); tests resize to 2x: 128x256

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def _options(items):
    """``--cfg-options`` strings as the dict ``DictAction`` makes."""
    parser = test_entry.argparse.ArgumentParser()
    test_entry.add_cfg_options(parser)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


@pytest.fixture(scope='module')
def exported(tmp_path_factory, cityscapes_root):
    """(checkpoint, export folder, test options, format test options)."""
    from mmseg_ext.deploy.export import export_onnx
    work = tmp_path_factory.mktemp('backend_eval')
    cfg = Config.fromfile(R18)
    cfg.merge_from_dict(
        _options(cityscapes_train_options(cfg, cityscapes_root, ITERS, CROP)))
    cfg.train_cfg.val_interval = ITERS + 1  # no validation while training
    cfg.work_dir = str(work / 'train')
    Runner.from_cfg(cfg).train()
    ckpt = str(work / 'train' / f'iter_{ITERS}.pth')
    h, w = CROP
    export = str(work / 'export')
    export_onnx(R18, ckpt, export, (2 * h, 2 * w), dynamic=False)
    test_cfg = Config.fromfile(R18_TEST)
    return (ckpt, export, cityscapes_test_options(cfg, cityscapes_root, CROP),
            cityscapes_test_options(test_cfg, cityscapes_root, CROP), work)


def _evaluate(config, model, work_dir, options, *extra):
    test_entry.main([
        config, model, '--work-dir',
        str(work_dir), *extra, '--cfg-options', *options
    ])


@needs_onnx_export
def test_miou_through_backends_equals_checkpoint(exported):
    ckpt, export, options, _, work = exported
    _evaluate(R18, ckpt, work / 'test_ckpt', options)
    expected = read_test_metrics(str(work / 'test_ckpt'))
    assert 0 < expected['mIoU'] <= 100
    for backend in ('onnxruntime', 'openvino'):
        _evaluate(R18, export, work / f'test_{backend}', options, '--backend',
                  backend, '--precision', 'fp32')
        got = read_test_metrics(str(work / f'test_{backend}'))
        assert got['mIoU'] == pytest.approx(expected['mIoU'], abs=0.1)
        assert got['aAcc'] == pytest.approx(expected['aAcc'], abs=0.1)


@needs_onnx_export
def test_format_only_through_backend_writes_same_pngs(exported):
    ckpt, export, _, options, work = exported
    outs = {}
    for name, extra in (('ckpt', ()), ('ort', ('--backend', 'onnxruntime'))):
        outs[name] = work / f'submission_{name}'
        model = ckpt if name == 'ckpt' else osp.join(export, 'end2end.onnx')
        _evaluate(R18_TEST, model, work / f'format_{name}', options,
                  '--format-only', '--out', str(outs[name]), *extra)
    names = sorted(os.listdir(outs['ckpt']))
    assert names and names == sorted(os.listdir(outs['ort']))
    assert all(n.endswith('_leftImg8bit.png') for n in names)
    for n in names:
        ref = np.asarray(Image.open(outs['ckpt'] / n))
        got = np.asarray(Image.open(outs['ort'] / n))
        assert ref.shape == got.shape == (128, 256)  # the sample's size
        assert (ref == got).mean() >= 0.999, n


def test_backend_arguments_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        test_entry.parse_args([R18, '--backend-model', str(tmp_path)])
    assert '--backend-model needs --backend' in capsys.readouterr().err
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(SystemExit):
        test_entry.parse_args([R18, missing, '--backend', 'openvino'])
    assert f'exported model not found: {missing}' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        test_entry.parse_args([R18])
    assert 'checkpoint argument is required' in capsys.readouterr().err
    from mmseg_ext.deploy.segmentor import resolve_model_file
    with pytest.raises(FileNotFoundError, match='end2end.onnx'):
        resolve_model_file(str(tmp_path), 'onnxruntime')
