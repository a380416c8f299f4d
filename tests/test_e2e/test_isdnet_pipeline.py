"""ISDNet end to end on the real DeepGlobe sample, through the users' commands.

The converter lays the sample out as users do, ``mim train mmseg
<ISDNet DeepGlobe config>`` trains from scratch for a few iterations on 128 px
crops (the main-job stage's options, :mod:`tools.main_job.isdnet`), and
``mim test mmseg_ext`` evaluates the checkpoint on the whole tile.

The commands run in the test process (:mod:`inprocess`: the same entry
points and arguments, without 8 s of start-up per command); the
subprocesses are tested in ``test_cityscapes_pipeline.py``.
"""
import os
import os.path as osp

import inprocess
import numpy as np
import pytest
import torch
from conftest import REPO

from tools.main_job import isdnet as job
from tools.main_job.options import load_config
from tools.main_job.outputs import (nanmean, read_class_iou, read_losses,
                                    read_metric)

ITERS = 16
CFG = load_config(osp.join(REPO, job.DEEPGLOBE))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('isdnet')
    root = job.convert_samples(REPO, data_root, str(work))['deepglobe']
    assert sorted(os.listdir(osp.join(root, 'ann_dir',
                                      'train'))) == ['6399_mask.png']
    train_dir = work / 'train'
    inprocess.train([
        job.DEEPGLOBE, '--work-dir', train_dir, '--cfg-options',
        *job.aerial_train_options(CFG, root, ITERS, job.DEEPGLOBE_SIZE)
    ])
    return work, root


def test_training_loss_finite_and_falls(trained):
    work, _ = trained
    losses = read_losses(str(work / 'train'))
    assert len(losses) == ITERS
    assert all(np.isfinite(losses))
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    print(f'loss first3={first:.4f} last3={last:.4f}')
    assert last < first * 0.95
    # torch's default: weights_only=True from torch 2.6 (allow-list of
    # mmseg_ext.utils.checkpoint), a full unpickle before
    ckpt = torch.load(work / 'train' / f'iter_{ITERS}.pth')
    state = ckpt['state_dict']
    # both branches and every head were trained and saved
    for prefix in ('backbone.', 'decode_head.', 'refine_head.',
                   'auxiliary_head.'):
        assert any(k.startswith(prefix) for k in state), prefix


def test_whole_image_test(trained):
    work, root = trained
    test_dir = work / 'test'
    inprocess.test([
        job.DEEPGLOBE, '--checkpoint', work / 'train' / f'iter_{ITERS}.pth',
        '--work-dir', test_dir, '--out', work / 'pred', '--cfg-options',
        *job.aerial_test_options(CFG, root, job.DEEPGLOBE_SIZE)
    ])
    miou = read_metric(str(test_dir), 'mIoU')
    iou = read_class_iou(str(test_dir))
    assert list(iou) == [
        'unknown', 'urban', 'agriculture', 'rangeland', 'forest', 'water',
        'barren'
    ]
    assert np.isnan(iou['urban'])  # absent from the tile and not predicted
    assert 0 <= miou <= 100
    assert miou == pytest.approx(nanmean(iou.values()), abs=0.01)
    # the prediction covers the whole 142x142 tile in one pass
    preds = os.listdir(work / 'pred')
    assert preds == ['6399_sat.png']
    from PIL import Image
    pred = np.asarray(Image.open(work / 'pred' / preds[0]))
    assert pred.shape == (142, 142)
    assert set(np.unique(pred).tolist()) <= set(range(7))
