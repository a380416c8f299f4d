"""PointRend (mmseg's CascadeEncoderDecoder + PointHead) through the users'
commands on the real Cityscapes sample: ``mim train mmseg`` for a few CPU
iterations, ``mim test mmseg_ext`` (IoUMetric), and ``--format-only`` with
the Cityscapes test-server config. The loss-falls check of the longer run is
the main job's (:mod:`tools.main_job.pointrend`); this keeps under a
minute.

The commands run in the test process (:mod:`inprocess`: the same entry
points and arguments, without 8 s of start-up per command); the
subprocesses are tested in ``test_cityscapes_pipeline.py``.
"""
import os
import os.path as osp

import inprocess
import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from tools.main_job import pointrend
from tools.main_job.cityscapes import cityscapes_test_options
from tools.main_job.options import load_config
from tools.main_job.outputs import read_losses, read_metric

ITERS = 2
CROP = (64, 128)
SAMPLE = 'frankfurt_000000_000294_leftImg8bit'


def config(path):
    return load_config(osp.join(REPO, path))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, cityscapes_root):
    work = tmp_path_factory.mktemp('pointrend')
    inprocess.train([
        pointrend.R50, '--work-dir', work, '--cfg-options',
        *pointrend.pointrend_train_options(
            config(pointrend.R50), cityscapes_root, ITERS, CROP),
        f'train_cfg.val_interval={ITERS + 1}'
    ])  # mim test evaluates
    return work


def test_mim_train_runs_cascade_model_with_finite_losses(trained):
    losses = read_losses(str(trained))
    point = read_losses(str(trained), 'decode_1.pointloss_ce')
    coarse = read_losses(str(trained), 'decode_0.loss_ce')
    assert len(losses) == len(point) == len(coarse) == ITERS
    assert np.isfinite(losses + point + coarse).all()
    assert min(point) > 0 and min(coarse) > 0
    assert (trained / f'iter_{ITERS}.pth').is_file()


def test_mim_test_evaluates_and_formats(trained, cityscapes_root, tmp_path):
    ckpt = trained / f'iter_{ITERS}.pth'
    opts = cityscapes_test_options(
        config(pointrend.R50), cityscapes_root, CROP)
    inprocess.test([
        pointrend.R50, '--checkpoint', ckpt, '--work-dir', tmp_path / 'iou',
        '--cfg-options', *opts
    ])
    miou = read_metric(str(tmp_path / 'iou'), 'mIoU')
    assert 0 <= miou <= 100

    # --format-only with the test-server twin: labelIds at the image size
    from cityscapesscripts.helpers.labels import labels
    out = tmp_path / 'submission'
    inprocess.test([
        pointrend.R50_TEST, '--checkpoint', ckpt, '--format-only', '--out',
        out, '--work-dir', tmp_path / 'fmt', '--cfg-options',
        *cityscapes_test_options(
            config(pointrend.R50_TEST), cityscapes_root, CROP)
    ])
    assert sorted(os.listdir(out)) == [f'{SAMPLE}.png']
    pred = np.array(Image.open(out / f'{SAMPLE}.png'))
    assert pred.shape == (128, 256)
    assert set(np.unique(pred).tolist()) <= {
        lb.id
        for lb in labels if 0 <= lb.trainId < 19
    }
