"""A checkpoint save killed mid-write leaves no truncated ``iter_N.pth``.

A child process trains a toy model through mmengine's Runner, with a
checkpoint per iteration; the iteration-3 checkpoint carries an extra 4 MB
blob and the child's file-size limit (``RLIMIT_FSIZE``) is below that, so the
kernel kills it (SIGXFSZ) in the middle of writing that file. With
:class:`~mmseg_ext.engine.AtomicCheckpointHook` (in the runtime base of
every config) only a hidden ``.iter_3.pth.<random>.part`` is left,
``last_checkpoint`` names ``iter_2.pth`` and that one loads; without it
``iter_3.pth`` is there, truncated.
"""
import glob
import os
import os.path as osp
import resource
import signal
import subprocess
import sys

import pytest
import torch
from conftest import REPO, clean_env
from mmengine.config import Config

from tools.main_job.sfnet import R18

LIMIT = 1 << 20  # bytes; iter_1/iter_2 are ~10 kB, iter_3 over 4 MB

CHILD = r'''
import signal
import sys

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmseg_ext  # noqa: F401

# Python ignores SIGXFSZ (a write past the limit then raises EFBIG); the
# kernel's default action is to kill the process mid-write, as wanted here
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)

class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def forward(self, x, mode='loss'):
        return dict(loss=self.fc(torch.stack(x)).pow(2).mean())


class BigThirdCheckpoint(Hook):

    def before_save_checkpoint(self, runner, checkpoint):
        if runner.iter + 1 == 3:  # iter_3.pth: 4 MB, over the file-size limit
            checkpoint['meta']['blob'] = torch.ones(1 << 20)


hooks = [BigThirdCheckpoint()]
if sys.argv[2] == 'atomic':
    hooks.append(dict(type='AtomicCheckpointHook'))
Runner(
    model=Toy(),
    work_dir=sys.argv[1],
    train_dataloader=dict(
        dataset=[dict(x=torch.ones(4))] * 8,
        sampler=dict(type='InfiniteSampler', shuffle=False),
        collate_fn=dict(type='pseudo_collate'),
        batch_size=2),
    train_cfg=dict(by_epoch=False, max_iters=4),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
    default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
    custom_hooks=hooks,
    default_scope='mmseg').train()
'''


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _killed_while_saving(work, mode):
    proc = subprocess.run([sys.executable, '-c', CHILD,
                           str(work), mode],
                          cwd=REPO,
                          env=dict(clean_env(), OMP_NUM_THREADS='1'),
                          capture_output=True,
                          text=True,
                          preexec_fn=_limit_file_size)
    assert proc.returncode == -signal.SIGXFSZ, proc.stderr[-3000:]
    return sorted(os.listdir(work))


def test_killed_save_leaves_previous_checkpoint_last(tmp_path):
    files = _killed_while_saving(tmp_path, 'atomic')
    assert 'iter_3.pth' not in files
    temps = [f for f in files if f.startswith('.iter_3.pth.')]
    assert len(temps) == 1 and temps[0].endswith('.part'), files
    # not named like a checkpoint: mmengine and users look for *.pth
    assert sorted(glob.glob(str(tmp_path / '*.pth'))) == [
        str(tmp_path / 'iter_1.pth'),
        str(tmp_path / 'iter_2.pth')
    ]
    assert osp.getsize(tmp_path / temps[0]) == LIMIT  # cut mid-write
    last = (tmp_path / 'last_checkpoint').read_text()
    assert last == str(tmp_path / 'iter_2.pth')
    assert torch.load(last)['meta']['iter'] == 2


def test_without_the_hook_the_checkpoint_is_truncated(tmp_path):
    # what mmengine alone leaves behind (the reason for the hook)
    files = _killed_while_saving(tmp_path, 'plain')
    assert 'iter_3.pth' in files
    assert osp.getsize(tmp_path / 'iter_3.pth') == LIMIT
    with pytest.raises(Exception):
        torch.load(tmp_path / 'iter_3.pth')


def test_runtime_base_turns_the_hooks_on():
    hooks = [
        h['type'] for h in Config.fromfile(osp.join(REPO, R18)).custom_hooks
    ]
    assert hooks == [
        'ResumeCheckHook', 'RandomStateHook', 'AtomicCheckpointHook',
        'PreemptionHook', 'LabelCheckHook'
    ]
