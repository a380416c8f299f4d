"""``--resume`` refuses a checkpoint of another config before loading any
state, and crafted checkpoints are refused with messages that say what.

mmengine alone loads the weights non-strictly (size-mismatch warnings) and
then fails in torch's optimizer with ``ValueError: loaded state dict
contains a parameter group that doesn't match the size of optimizer's
group``, naming no file; crafted files failed with ``AttributeError:
'tuple' object has no attribute 'get'``. Runs are in this process, on the
tiny model of ``reliability_toy`` under a config inheriting the shipped
runtime base.
"""
import os.path as osp

import pytest
import torch
from conftest import REPO
from reliability_toy import build_runner, toy_config

from mmseg_ext.apis import build_model
from tools.main_job.sfnet import R18


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(config, the iteration-2 checkpoint of a 2-iteration toy run)."""
    root = tmp_path_factory.mktemp('resume_mismatch')
    config = toy_config(str(root), REPO)
    work = str(root / 'run')
    build_runner(config, work, **{'train_cfg.max_iters': 2}).train()
    return config, osp.join(work, 'iter_2.pth')


def _resume(config, checkpoint, work, **changes):
    runner = build_runner(
        config,
        str(work),
        resume=True,
        load_from=checkpoint,
        **{'train_cfg.max_iters': 4},
        **changes)
    return runner


def test_resume_under_another_model_is_refused_before_loading(
        trained, tmp_path):
    config, ckpt = trained
    runner = _resume(config, ckpt, tmp_path / 'wider', **{'model.hidden': 32})
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    with pytest.raises(RuntimeError) as err:
        runner.train()
    msg = str(err.value)
    assert f'cannot resume from checkpoint {ckpt} with config {config}' \
        in msg
    assert 'fc1.weight checkpoint (16, 8) vs model (32, 8)' in msg
    assert 'fc2.weight checkpoint (1, 16) vs model (1, 32)' in msg
    assert 'Nothing was loaded' in msg
    after = runner.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert runner.iter == 0


def test_resume_with_other_optimizer_groups_is_refused(trained, tmp_path):
    config, ckpt = trained
    state = torch.load(ckpt)
    groups = state['optimizer']['param_groups']
    groups.append(dict(groups[0], params=groups[0]['params'][:1]))
    groups[0]['params'] = groups[0]['params'][1:]
    path = str(tmp_path / 'two_groups.pth')
    torch.save(state, path)
    runner = _resume(config, path, tmp_path / 'run')
    with pytest.raises(
            RuntimeError,
            match=r'optimizer parameter groups of '
            r'sizes \[3, 1\] in the checkpoint vs \[4\]') as err:
        runner.train()
    assert path in str(err.value)


def test_resume_from_a_tuple_is_refused_naming_the_file(trained, tmp_path):
    config, _ = trained
    path = str(tmp_path / 'tuple.pth')
    torch.save(('state_dict', {}), path)
    with pytest.raises(ValueError) as err:
        _resume(config, path, tmp_path / 'run').train()
    msg = str(err.value)
    assert f'checkpoint {path} refused' in msg
    assert "the file's content is a tuple" in msg


def test_meta_that_is_no_dict_is_refused_by_the_model_builder(tmp_path):
    # tools/deploy, fps_test, the converters' --config check: build_model
    # the weights fit: only the meta is crafted (mmengine alone reads
    # meta.get('PALETTE') of it)
    state = build_model(osp.join(REPO, R18)).state_dict()
    path = str(tmp_path / 'meta_tuple.pth')
    torch.save({'meta': ('CLASSES', ), 'state_dict': state}, path)
    with pytest.raises(ValueError) as err:
        build_model(osp.join(REPO, R18), path)
    assert f"checkpoint {path} refused: 'meta' is a tuple, expected a " \
        'dict' in str(err.value)
