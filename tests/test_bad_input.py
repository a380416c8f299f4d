"""Bad input gets a clear error naming the file or key, and loses nothing."""
import logging
import os
import os.path as osp
import shutil
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.runner.checkpoint import load_checkpoint
from mmseg.registry import DATASETS

from mmseg_ext.apis import build_model
from mmseg_ext.engine import LabelCheckHook

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R50 = 'configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py'
FRAME = 'frankfurt_000000_000294'
PIPE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def _dataset(root, **kwargs):
    return DATASETS.build(
        dict(
            type='CityscapesDataset',
            data_root=str(root),
            data_prefix=dict(
                img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
            pipeline=PIPE,
            **kwargs))


def _model(cfg_path):
    return build_model(cfg_path)


def test_missing_data_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'nowhere')):
        _dataset(tmp_path / 'nowhere')


def test_corrupt_image_names_the_file(tmp_path, cityscapes_root):
    img_dir = tmp_path / 'leftImg8bit' / 'val' / 'frankfurt'
    gt_dir = tmp_path / 'gtFine' / 'val' / 'frankfurt'
    img_dir.mkdir(parents=True)
    gt_dir.mkdir(parents=True)
    (img_dir / f'{FRAME}_leftImg8bit.png').write_bytes(b'not a png')
    shutil.copy(
        osp.join(cityscapes_root, 'gtFine', 'val', 'frankfurt',
                 f'{FRAME}_gtFine_labelTrainIds.png'), gt_dir)
    with pytest.raises(Exception, match=f'{FRAME}_leftImg8bit.png'):
        _dataset(tmp_path)[0]


def test_labels_outside_classes_name_the_label_file(cityscapes_root):
    """Training on labelIds (0..33) instead of labelTrainIds is caught
    before the iteration (LabelCheckHook), naming the file and values."""
    before = os.listdir(
        osp.join(cityscapes_root, 'gtFine', 'val', 'frankfurt'))
    ds = _dataset(cityscapes_root, seg_map_suffix='_gtFine_labelIds.png')
    hook = LabelCheckHook()
    hook.before_run(SimpleNamespace(model=_model(R18)))
    batch = pseudo_collate([ds[0], ds[0]])
    with pytest.raises(
            ValueError, match=rf'{FRAME}_gtFine_labelIds.png: values \[\d+'):
        hook.before_train_iter(None, 0, batch)
    assert os.listdir(osp.join(cityscapes_root, 'gtFine', 'val',
                               'frankfurt')) == before


def test_checkpoint_of_another_model_lists_missing_and_unexpected(
        tmp_path, caplog):
    torch.save({'state_dict': _model(R50).state_dict()}, tmp_path / 'r50.pth')
    r18 = _model(R18)
    logger = logging.getLogger('mmseg_ext.test.ckpt')
    with caplog.at_level(logging.WARNING, logger='mmseg_ext.test.ckpt'):
        load_checkpoint(
            r18,
            str(tmp_path / 'r50.pth'),
            map_location='cpu',
            strict=False,
            logger=logger)
    text = caplog.text
    assert 'unexpected key in source state_dict' in text
    assert 'backbone.layer1.0.conv3.weight' in text  # R50-only key
    assert 'size mismatch' in text
    with pytest.raises(RuntimeError, match='unexpected key'):
        load_checkpoint(
            r18, str(tmp_path / 'r50.pth'), map_location='cpu', strict=True)
