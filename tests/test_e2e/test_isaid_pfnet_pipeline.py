"""PFNet on the real iSAID sample, through the users' commands.

``tools/dataset_converters/isaid.py`` (its entry point,
:func:`mmseg_ext.datasets.preparation.isaid.main`) on the official (unzipped)
sample, then ``mim train mmseg <PFNet R50 config>`` for a few CPU iterations
from scratch (training resize 128 instead of 896, batch 2) with the boundary
targets and all three edge losses logged, then ``mim test mmseg_ext`` on the
val patches. The validation at the end of training resizes the val patches
to 128x128 as the test does (no score here is compared with a published
figure; with the validation at 896x896 and the converter in a subprocess
the file took 159 s of CPU instead of 109 s).

The commands run in the test process (:mod:`inprocess`: the same entry
points and arguments, without 8 s of start-up per command); the
subprocesses are tested in ``test_cityscapes_pipeline.py`` (the converter
script's in ``test_converter_leftovers.py``).
"""
import json
import os
import os.path as osp

import inprocess
import pytest
from conftest import REPO

from mmseg_ext.datasets.preparation import isaid
from tools.main_job import pfnet
from tools.main_job.options import load_config
from tools.main_job.outputs import read_metric

ITERS = 4
#: The val patches' resize in the training's validation (test: the same).
VAL_SCALE = 'val_dataloader.dataset.pipeline.1.scale=(128,128)'
CFG = load_config(osp.join(REPO, pfnet.R50))


@pytest.fixture(scope='module')
def patches(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp('isaid') / 'iSAID'
    assert isaid.main([pfnet.isaid_source(data_root), '-o', str(out)]) == 0
    return str(out)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, patches):
    work = tmp_path_factory.mktemp('pfnet_train')
    inprocess.train([
        pfnet.R50, '--work-dir', work, '--cfg-options',
        *pfnet.isaid_train_options(CFG, patches, ITERS, 128), VAL_SCALE
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
