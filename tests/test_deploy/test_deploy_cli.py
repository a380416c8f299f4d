"""``tools/deploy/deploy.py`` (``mmseg_ext.deploy.cli.main``) end to end: a
dynamic OpenVINO export of SFNet-R18 (random weights, saved as a checkpoint)
from a real Cityscapes image, checked at its example size and at a second
size, and its refusals.

The export is also SFNet-R18's dynamic case of the family export test
(``test_export_families.DYNAMIC_ELSEWHERE``): its ONNX file is checked on
ONNX Runtime too, at 64x128 and 97x129, max abs diff <= 1e-4.
"""
import glob
import json
import os.path as osp

import pytest
import torch
from conftest import REPO, needs_onnx_export

from mmseg_ext.apis import build_model
from mmseg_ext.deploy import cli
from mmseg_ext.deploy.backends import BackendModel
from mmseg_ext.deploy.export import End2End

SFNET = osp.join(REPO, 'configs', 'sfnet',
                 'sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py')
DEPLOY_CFG = osp.join(REPO, 'configs', 'deploy', '{}.py')


def _image(cityscapes_root):
    return sorted(
        glob.glob(
            osp.join(cityscapes_root, 'leftImg8bit', 'val', '*',
                     '*_leftImg8bit.png')))[0]


@needs_onnx_export
def test_dynamic_openvino_export_checked_at_two_sizes(tmp_path,
                                                      cityscapes_root,
                                                      one_thread):
    work_dir = tmp_path / 'sfnet_r18'
    # random weights, saved, so that the test knows what was exported
    torch.manual_seed(0)
    model = build_model(SFNET)
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    info = cli.main([
        DEPLOY_CFG.format('segmentation_openvino_dynamic'), SFNET,
        str(ckpt),
        _image(cityscapes_root), '--work-dir',
        str(work_dir), '--shape', '64', '128'
    ])
    files = sorted(p.name for p in work_dir.iterdir())
    assert {'end2end.onnx', 'end2end.xml', 'end2end.bin',
            'deploy.json'} <= set(files), files
    assert not osp.exists(str(work_dir) + '.partial')
    with open(work_dir / 'deploy.json') as f:
        assert json.load(f) == info
    assert info['backend'] == 'openvino' and info['precision'] == 'fp32'
    assert info['dynamic'] and info['export_shape'] == [64, 128]
    assert info['input_shape'] == ['batch', 3, 'height', 'width']
    assert info['max_abs_diff_vs_pytorch'] <= 1e-4, info
    check = info['dynamic_check']
    assert check['shape'] == [97, 145], check
    assert check['max_abs_diff_vs_pytorch'] <= 1e-4, check
    assert check['argmax_agreement_vs_pytorch'] == 1.0, check
    # the family export test's dynamic case: the same file on ONNX Runtime
    runner = BackendModel(
        str(work_dir / 'end2end.onnx'), 'onnxruntime', num_threads=1)
    torch.manual_seed(1)
    for size in [(64, 128), (97, 129)]:
        x = torch.randn(1, 3, *size)
        with torch.no_grad():
            ref = End2End(model)(x)
        diff = (runner(x) - ref).abs().max().item()
        print(f'sfnet_r18 dynamic onnxruntime {size}: max abs diff {diff:.2e}')
        assert diff <= 1e-4, (size, diff)


def test_refusals_before_any_export(tmp_path, cityscapes_root):
    image = _image(cityscapes_root)
    # TensorRT needs a CUDA GPU: refused before minutes of export
    with pytest.raises(ValueError, match='(?i)tensorrt'):
        cli.main([
            DEPLOY_CFG.format('segmentation_tensorrt-fp16_static-512x1024'),
            SFNET, 'none', image, '--work-dir',
            str(tmp_path / 'trt'), '--device', 'cpu'
        ])
    assert not (tmp_path / 'trt').exists()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        cli.main([
            DEPLOY_CFG.format('segmentation_onnxruntime_static-512x1024'),
            SFNET,
            str(tmp_path / 'missing.pth'), image, '--work-dir',
            str(tmp_path / 'ort')
        ])
    with pytest.raises(SystemExit):
        cli.parse_args([
            'a.py', 'b.py', 'none', 'x.png', '--work-dir', 'd', '--shape', '0',
            '128'
        ])
