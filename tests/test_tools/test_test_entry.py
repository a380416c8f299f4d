"""The format-only logic of the test entry (mmseg_ext/tools/test.py)."""
import os

import pytest
from mmengine.config import Config

from mmseg_ext.tools.test import (check_annotations, drop_annotations,
                                  finish_format_only, format_only_evaluator,
                                  setup_format_only)

TEST_CFG = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py'


def test_test_config_reads_test_split_without_annotations(tmp_path):
    cfg = Config.fromfile(TEST_CFG)
    ds = cfg.test_dataloader.dataset
    assert ds.data_prefix == dict(img_path='leftImg8bit/test')
    assert all(t.type != 'LoadAnnotations' for t in ds.pipeline)
    assert cfg.model.backbone.type == 'SFResNet'  # the model came along
    # nothing to evaluate on the test split: only --format-only runs it
    with pytest.raises(ValueError, match='pass --format-only'):
        check_annotations(cfg, TEST_CFG)
    # --format-only is the one place that sets up the server submission
    staging = setup_format_only(cfg, str(tmp_path / 'sub'))
    assert cfg.test_evaluator == dict(
        type='CityscapesEvalMetric',
        format_only=True,
        keep_results=True,
        output_dir=staging)
    check_annotations(cfg, TEST_CFG)  # format-only: accepted
    check_annotations(
        Config.fromfile(
            'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'),
        'val')


def test_setup_format_only_stages_and_refuses_existing(tmp_path):
    cfg = Config.fromfile(
        'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py')
    out = tmp_path / 'sub'
    staging = setup_format_only(cfg, str(out))
    assert staging == str(out) + '.partial'
    assert cfg.test_evaluator.type == 'CityscapesEvalMetric'
    assert cfg.test_evaluator.output_dir == staging
    assert drop_annotations(cfg.test_dataloader.dataset.pipeline) == \
        cfg.test_dataloader.dataset.pipeline
    out.mkdir()
    with pytest.raises(FileExistsError, match=str(out)):
        setup_format_only(cfg, str(out))
    assert format_only_evaluator('ADE20KDataset', 'x').type == 'IoUMetric'


def test_incomplete_output_is_never_published(tmp_path):
    staging, out = tmp_path / 'sub.partial', tmp_path / 'sub'
    staging.mkdir()
    (staging / 'a_leftImg8bit.png').write_bytes(b'png')
    with pytest.raises(RuntimeError, match='1 PNGs for 2 test images'):
        finish_format_only(str(staging), str(out), 2)
    assert not out.exists() and not staging.exists()
    staging.mkdir()
    (staging / 'a_leftImg8bit.png').write_bytes(b'png')
    finish_format_only(str(staging), str(out), 1)
    assert os.listdir(out) == ['a_leftImg8bit.png']
    assert not staging.exists()
