"""PSPNet and DeepLabv3 with the EfficientNet-B4 backbone, trained and tested.

timm builds the backbone (mmseg's ``TIMMBackbone``), and timm imports
torchvision, which must match torch: the torch 2.13.0+cpu stack has no
matching torchvision wheel, so these tests run on the ``cuda-torch`` stack
(``tools/check_stack.sh cuda-torch``: PyPI's CUDA torch 2.13.0 and
torchvision 0.28.0, run on CPU) and skip elsewhere. Each published Cityscapes
config trains a few iterations through ``mim train mmseg`` at a 64x128 crop
on the real Cityscapes sample (no ImageNet weights: ``pretrained=False``),
then ``mim test mmseg_ext`` evaluates the checkpoint with the config's slide
inference scaled to the crop.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO, run_command

from tools.main_job.cityscapes import (cityscapes_test_options,
                                       cityscapes_train_options)
from tools.main_job.options import load_config, size
from tools.main_job.outputs import read_losses, read_metric

try:
    import timm  # noqa: F401
except (ImportError, RuntimeError) as e:  # torchvision not matching torch
    pytest.skip(
        f'timm (EfficientNet-B4) is not importable ({type(e).__name__}: '
        f'{str(e)[:80]}): it imports torchvision, which needs a build '
        'matching this torch (see tools/check_stack.sh cuda-torch)',
        allow_module_level=True)

ITERS = 2
CROP = (64, 128)
CONFIGS = [
    'configs/pspnet/pspnet_effb4-d8_4xb2-30k_cityscapes-769x769.py',
    'configs/deeplabv3/deeplabv3_effb4-d8_4xb2-30k_cityscapes-769x769.py',
]
# timm would fetch the ImageNet weights from the hub when the model is built,
# at training and at test time alike
NO_DOWNLOAD = ['model.backbone.pretrained=False']
# slide windows of the crop's size, half-overlapping (the published
# 769-crop / 256-stride windows do not fit the sample's 256x128 images)
SLIDE = [
    f'model.test_cfg.crop_size={size(*CROP)}',
    f'model.test_cfg.stride={size(CROP[0] // 2, CROP[1] // 2)}'
]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.split('/')[1])
def test_effb4_trains_and_tests_on_cityscapes_sample(path, mim,
                                                     cityscapes_root,
                                                     tmp_path):
    cfg = load_config(osp.join(REPO, path))
    assert cfg.model.backbone.type == 'TIMMBackbone'
    work = tmp_path / 'train'
    run_command([
        mim, 'train', 'mmseg', path, '--work-dir', work, '--cfg-options',
        *cityscapes_train_options(cfg, cityscapes_root, ITERS, crop=CROP),
        *NO_DOWNLOAD, *SLIDE
    ])
    losses = read_losses(str(work))
    assert len(losses) == ITERS and all(np.isfinite(losses))
    ckpt = work / f'iter_{ITERS}.pth'
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    # timm's EfficientNet-B4 stem (48 channels) inside mmseg's TIMMBackbone
    assert state['backbone.timm_model.conv_stem.weight'].shape == (48, 3, 3, 3)
    assert state['decode_head.conv_seg.weight'].shape[0] == 19
    run_command([
        mim, 'test', 'mmseg_ext', path, '--checkpoint', ckpt, '--work-dir',
        tmp_path / 'test', '--cfg-options',
        *cityscapes_test_options(cfg, cityscapes_root, crop=CROP),
        *NO_DOWNLOAD, *SLIDE
    ])
    miou = read_metric(str(tmp_path / 'test'), 'mIoU')
    assert 0 <= miou <= 100
