"""Label values outside the model's classes are refused before each train,
val and test iteration, for every config (``LabelCheckHook``), naming the
file and the values: mmseg's heads raised ``IndexError: Target 200 is out of
bounds`` naming no file, and mmseg's IoUMetric dropped such pixels, so
``mim test`` printed a lower mIoU and exited 0.

The train and test commands run in the test process (:mod:`inprocess`: the
same entry points and arguments, no 8 s start-up each)."""
import copy
import os
import os.path as osp
import shutil
from types import SimpleNamespace

import inprocess
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import DATASETS
from mmseg.structures import SegDataSample
from PIL import Image
from torch import nn

from mmseg_ext.apis import build_model
from mmseg_ext.engine import LabelCheckHook
from mmseg_ext.engine.hooks.label_check_hook import (check_batch_labels,
                                                     model_label_space)
from tools.main_job.cityscapes import (cityscapes_test_options,
                                       cityscapes_train_options)
from tools.main_job.options import load_config
from tools.main_job.sfnet import R18

PSPNET = 'configs/pspnet/pspnet_r101-d8-mg124_4xb2-30k_cityscapes-769x769.py'
FRAME = 'frankfurt_000000_000294'
IMG_REL = f'leftImg8bit/val/frankfurt/{FRAME}_leftImg8bit.png'
LBL_REL = f'gtFine/val/frankfurt/{FRAME}_gtFine_labelTrainIds.png'
MESSAGE = ('label maps hold ids outside [0, 19) that are not ignore_index=255'
           ' (wrong label files, e.g. labelIds instead of labelTrainIds, or '
           'reduce_zero_label?): {}: values [200]')


@pytest.fixture
def bad_labels(tmp_path, cityscapes_root):
    """A copy of the sample whose label map has id 200 in every 16th
    column (so any training crop holds some)."""
    root = tmp_path / 'cityscapes'
    for rel in (IMG_REL, LBL_REL):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(osp.join(cityscapes_root, rel), root / rel)
    lbl = np.array(Image.open(root / LBL_REL))
    lbl[:, ::16] = 200
    Image.fromarray(lbl).save(root / LBL_REL)
    return root


def _weights(cfg_path, path):
    model = build_model(load_config(cfg_path))
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_mim_test_refuses_labels_outside_the_classes(bad_labels, tmp_path):
    ckpt = _weights(R18, tmp_path / 'r18.pth')
    work = tmp_path / 'test'
    out = inprocess.failure(inprocess.test, [
        R18, '--checkpoint', ckpt, '--work-dir', work, '--cfg-options',
        *cityscapes_test_options(load_config(R18), str(bad_labels))
    ])
    assert MESSAGE.format(bad_labels / LBL_REL) in out
    logged = [f for *_, fs in os.walk(work) for f in fs if f.endswith('.json')]
    assert logged == []  # no metrics written


def test_mmseg_head_config_training_names_the_file(bad_labels, tmp_path):
    """PSPNet (mmseg's PSPHead and FCNHead), shrunk to R-18 with no
    ImageNet weights to download."""
    work = tmp_path / 'train'
    out = inprocess.failure(inprocess.train, [
        PSPNET, '--work-dir', work, '--cfg-options',
        *cityscapes_train_options(load_config(PSPNET), str(bad_labels), 2),
        'model.pretrained=None', 'model.backbone.depth=18',
        'model.decode_head.in_channels=512', 'model.decode_head.channels=32',
        'model.auxiliary_head.in_channels=256',
        'model.auxiliary_head.channels=16'
    ])
    assert MESSAGE.format(bad_labels / LBL_REL) in out
    assert 'out of bounds' not in out
    assert not [
        f for *_, fs in os.walk(work) for f in fs if f.endswith('.pth')
    ]


def _sample(values, path='a_labelTrainIds.png'):
    s = SegDataSample(metainfo=dict(seg_map_path=path))
    s.gt_sem_seg = PixelData(data=torch.tensor(values).view(1, 1, -1))
    return s


def test_hook_checks_train_val_test_batches_and_skips_unlabelled():
    head = SimpleNamespace(num_classes=19, ignore_index=255)
    hook = LabelCheckHook()
    hook.before_run(SimpleNamespace(model=SimpleNamespace(decode_head=head)))
    good = dict(data_samples=[_sample([0, 18, 255])])
    bad = dict(data_samples=[_sample([3]), _sample([19, 200], 'b.png')])
    unlabelled = dict(data_samples=[SegDataSample()])
    for step in (hook.before_train_iter, hook.before_val_iter,
                 hook.before_test_iter):
        step(None, 0, good)
        step(None, 0, unlabelled)
        with pytest.raises(ValueError, match=r'b.png: values \[19, 200\]$'):
            step(None, 0, bad)


def test_label_space_of_a_cascade_and_a_model_without_heads():

    class Head(nn.Module):

        def __init__(self, num_classes, ignore_index):
            super().__init__()
            self.num_classes, self.ignore_index = num_classes, ignore_index

    cascade = nn.Module()
    cascade.decode_head = nn.ModuleList([Head(19, 255), Head(19, 255)])
    assert model_label_space(cascade) == (19, 255)
    with pytest.raises(TypeError, match='has no decode_head'):
        LabelCheckHook().before_run(SimpleNamespace(model=nn.Linear(1, 1)))


def test_check_without_a_runner_gives_the_same_message(bad_labels):
    """Direct ``model.loss`` callers (no Runner, no hook) check the batch
    with ``check_batch_labels``: the hook's function, so the same text; the
    heads themselves do not check (as mmseg's)."""
    cfg = copy.deepcopy(load_config(R18).val_dataloader.dataset)
    cfg.data_root = str(bad_labels)
    cfg.data_prefix = dict(
        img_path='leftImg8bit/val', seg_map_path='gtFine/val')
    sample = DATASETS.build(cfg)[0]['data_samples']
    model = build_model(load_config(R18))
    with pytest.raises(ValueError) as e:
        check_batch_labels(model, [sample, sample])
    assert MESSAGE.format(bad_labels / LBL_REL) in str(e.value)
