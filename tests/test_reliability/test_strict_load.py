"""The test entry refuses a checkpoint that does not fit the config's model.

Checkpoints are written here from freshly built models: an SFNet-R18 one
tested with the R50 config (mmengine alone prints 101 size-mismatch warnings
and evaluates), with a 10-class head, an empty ``state_dict``, and the
matching one, which tests on the real Cityscapes sample.
"""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ext.tools.test import main, parse_args
from mmseg_ext.utils.checkpoint import state_dict_mismatch
from tools.main_job.cityscapes import cityscapes_test_options
from tools.main_job.options import load_config
from tools.main_job.sfnet import R18, R50

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


@pytest.fixture(scope='module')
def r18_checkpoint(tmp_path_factory):
    cfg = Config.fromfile(osp.join(REPO, R18))
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'r18.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return str(path)


def _test(config, checkpoint, work, cityscapes_root, *extra):
    opts = cityscapes_test_options(
        load_config(osp.join(REPO, config)), cityscapes_root, crop=(32, 64))
    main([
        config,
        str(checkpoint), '--work-dir',
        str(work), *extra, '--cfg-options', *opts
    ])


def _evaluated(work):
    return bool(glob.glob(osp.join(str(work), '*', '*.json')))


def test_r18_checkpoint_with_r50_config_is_refused(r18_checkpoint, tmp_path,
                                                   cityscapes_root):
    with pytest.raises(RuntimeError) as err:
        _test(R50, r18_checkpoint, tmp_path, cityscapes_root)
    msg = str(err.value)
    assert r18_checkpoint in msg and 'Nothing was evaluated' in msg
    assert '--allow-partial-load' in msg
    assert '101 key(s) with mismatched shapes' in msg
    assert '160 missing key(s)' in msg
    # R50's bottleneck convs and BNs the R18 basic blocks lack
    assert 'backbone.layer1.0.conv3.weight' in msg
    assert 'backbone.layer1.0.conv1.weight checkpoint (64, 128, 3, 3) vs ' \
        'model (64, 128, 1, 1)' in msg
    assert not _evaluated(tmp_path)


def test_wrong_num_classes_is_refused(r18_checkpoint, tmp_path,
                                      cityscapes_root):
    with pytest.raises(RuntimeError) as err:
        _test(R18, r18_checkpoint, tmp_path, cityscapes_root, '--cfg-options',
              'model.decode_head.num_classes=10')
    msg = str(err.value)
    assert 'mismatched shapes' in msg and 'missing' not in msg
    assert 'decode_head.conv_seg.weight checkpoint (19, ' in msg
    assert not _evaluated(tmp_path)


def test_empty_state_dict_is_refused(tmp_path, cityscapes_root):
    path = tmp_path / 'empty.pth'
    torch.save({'meta': {}, 'state_dict': {}}, path)
    with pytest.raises(RuntimeError, match=r'\d+ missing key\(s\)') as err:
        _test(R18, path, tmp_path / 'work', cityscapes_root)
    assert 'unexpected' not in str(err.value)
    assert not _evaluated(tmp_path / 'work')


def test_matching_checkpoint_tests_and_partial_load_is_opt_in(
        r18_checkpoint, tmp_path, cityscapes_root, caplog):
    _test(R18, r18_checkpoint, tmp_path / 'ok', cityscapes_root)
    assert _evaluated(tmp_path / 'ok')
    _test(R18, r18_checkpoint, tmp_path / 'partial', cityscapes_root,
          '--allow-partial-load', '--cfg-options',
          'model.decode_head.channels=64')  # 19 classes: labels stay valid
    assert _evaluated(tmp_path / 'partial')
    assert 'Testing it anyway (--allow-partial-load)' in caplog.text or \
        any('Testing it anyway' in open(p).read()
            for p in glob.glob(str(tmp_path / 'partial' / '*' / '*.log')))


def test_option_is_documented(capsys):
    with pytest.raises(SystemExit):
        parse_args(['--help'])
    assert '--allow-partial-load' in capsys.readouterr().out


def test_mismatch_listing_is_bounded():
    model = {f'k{i}': torch.zeros(2) for i in range(8)}
    ckpt = {f'k{i}': torch.zeros(3) for i in range(8)}
    ckpt['extra'] = torch.zeros(1)
    mismatch = state_dict_mismatch(model, ckpt)
    text = mismatch.describe(first=2)
    assert text.startswith('1 unexpected key(s)')
    assert '8 key(s) with mismatched shapes: k0 checkpoint (3,) vs model ' \
        '(2,), k1 checkpoint (3,) vs model (2,), ... (6 more)' in text
    assert not state_dict_mismatch(model, model)
