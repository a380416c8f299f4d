"""PFNet on the real iSAID sample, through the users' commands.

``tools/dataset_converters/isaid.py`` on the official (unzipped) sample, then
``mim train mmseg <PFNet R50 config>`` for a few CPU iterations from scratch
(training resize 128 instead of 896, batch 2) with the boundary targets and
all three edge losses logged, then ``mim test mmseg_ext`` on the val patches.

The commands run in the test process (:mod:`inprocess`: the same entry
points and arguments, without 8 s of start-up per command); the
subprocesses are tested in ``test_cityscapes_pipeline.py``.
"""
import json
import os
import os.path as osp

import inprocess
import pytest
from conftest import REPO

from tools.main_job import pfnet
from tools.main_job.options import load_config
from tools.main_job.outputs import read_metric

ITERS = 4
CFG = load_config(osp.join(REPO, pfnet.R50))


@pytest.fixture(scope='module')
def patches(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp('isaid') / 'iSAID'
    pfnet.convert(REPO, data_root, str(out))
    return str(out)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, patches):
    work = tmp_path_factory.mktemp('pfnet_train')
    inprocess.train([
        pfnet.R50, '--work-dir', work, '--cfg-options',
        *pfnet.isaid_train_options(CFG, patches, ITERS, 128)
    ])
    return work


def test_train_logs_segmentation_and_edge_losses(trained):
    work = trained
    assert (work / f'iter_{ITERS}.pth').is_file()
    records = []
    for root, _, files in os.walk(work):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                records += [json.loads(line) for line in f]
    train = [r for r in records if 'lr' in r]
    assert len(train) == ITERS
    for rec in train:
        for key in ('decode.loss_ohem_ce', 'decode.loss_edge_l0',
                    'decode.loss_edge_l1', 'decode.loss_edge_l2'):
            assert 0 < rec[key] < 100, (key, rec)
        # total = OHEM CE + 3 edge terms (25 x class-balanced BCE each)
        parts = sum(rec[k] for k in rec if k.startswith('decode.loss'))
        assert abs(rec['loss'] - parts) < 1e-3 * rec['loss']


def test_test_entry_scores_val_patches(tmp_path, patches, trained):
    inprocess.test([
        pfnet.R50, '--checkpoint', trained / f'iter_{ITERS}.pth', '--work-dir',
        tmp_path / 'test', '--cfg-options',
        *pfnet.isaid_test_options(CFG, patches),
        'test_dataloader.dataset.pipeline.1.scale=(128,128)'
    ])
    miou = read_metric(str(tmp_path / 'test'), 'mIoU')
    assert 0.0 <= miou <= 100.0
