"""``--resume`` after a SIGKILL continues bit-exactly (RandomStateHook).

SFNet-R18 (its PPM dropout at the configured 0.1) on the real Cityscapes
sample at a 32x64 crop: an uninterrupted ``mim train`` of 4 iterations
(checkpoint and validation every 2) against a run SIGKILLed right after its
iteration-2 checkpoint and resumed with ``--resume``. Every logged loss of
iterations 3-4 and every final weight must be equal (max abs diff 0), in one
process and in 2-process gloo DDP (``--launcher pytorch``). Without the
hook's RNG states the dropout masks after the resume differ and so do the
losses (see the README's "Reliability" section for the measured numbers).
"""
import json
import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch
from conftest import REPO, clean_env

from mmseg_ext.jobs.cityscapes import cityscapes_train_options
from mmseg_ext.jobs.options import load_config
from mmseg_ext.jobs.sfnet import R18

ITERS, CKPT = 4, 2
NOT_COMPARED = ('time', 'data_time', 'eta', 'memory')
DDP = [
    '--launcher', 'pytorch', '--gpus', '2', '--cfg-options',
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None', 'model.backbone.norm_cfg.type=BN',
    'model.neck.norm_cfg.type=BN', 'model.decode_head.norm_cfg.type=BN'
]


def _env() -> dict:
    env = clean_env()
    env['OMP_NUM_THREADS'] = '1'  # 2 ranks on 2 cores; same in every run
    return env


def _command(mim, cityscapes_root, work, launcher, resume=False):
    opts = cityscapes_train_options(
        load_config(osp.join(REPO, R18)),
        cityscapes_root,
        ITERS,
        crop=(32, 64))
    opts = [
        o for o in opts if not o.startswith(('train_cfg.val_interval',
                                             'default_hooks.checkpoint'))
    ]
    opts += [
        f'train_cfg.val_interval={CKPT}',
        f'default_hooks.checkpoint.interval={CKPT}',
        'randomness.deterministic=True'
    ]
    cmd = [mim, 'train', 'mmseg', R18, '--work-dir', work]
    if resume:
        cmd.append('--resume')
    if launcher == 'pytorch':
        return [*cmd, *DDP, *opts]
    return [*cmd, '--cfg-options', *opts]


def _run(cmd):
    proc = subprocess.run([str(c) for c in cmd],
                          cwd=REPO,
                          env=_env(),
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _run_killed_after_checkpoint(cmd, work):
    """Start ``cmd``; SIGKILL its whole process group as soon as
    ``last_checkpoint`` names the iteration-``CKPT`` checkpoint."""
    marker = osp.join(work, 'last_checkpoint')
    with open(osp.join(work, 'killed.log'), 'w') as log:
        proc = subprocess.Popen([str(c) for c in cmd],
                                cwd=REPO,
                                env=_env(),
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            while proc.poll() is None:
                if osp.exists(marker) and open(marker).read().endswith(
                        f'iter_{CKPT}.pth'):
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, open(log.name).read()[-3000:]
    assert not osp.exists(osp.join(work, f'iter_{ITERS}.pth'))


def _logged(work):
    """``{iter: {key: value}}`` of every training record in the work
    folder's ``vis_data/scalars.json`` files (the killed run's and the
    resumed run's)."""
    recs = {}
    for root, _, files in os.walk(work):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    rec = json.loads(line)
                    if 'lr' in rec:
                        recs[rec['iter']] = {
                            k: v
                            for k, v in rec.items() if k not in NOT_COMPARED
                        }
    return recs


def _text_logs(work):
    """The runs' ``<timestamp>/<timestamp>.log`` files (rank 0), joined."""
    text = ''
    for root, _, files in os.walk(work):
        for name in sorted(files):
            if name.endswith('.log') and name != 'killed.log':
                with open(osp.join(root, name)) as f:
                    text += f.read()
    return text


def _weights(work):
    return torch.load(
        osp.join(work, f'iter_{ITERS}.pth'), map_location='cpu')['state_dict']


@pytest.mark.parametrize('launcher', ['none', 'pytorch'])
def test_resume_after_sigkill_is_bit_exact(mim, cityscapes_root, tmp_path,
                                           launcher):
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    cut.mkdir()
    _run(_command(mim, cityscapes_root, full, launcher))
    _run_killed_after_checkpoint(
        _command(mim, cityscapes_root, cut, launcher), cut)
    _run(_command(mim, cityscapes_root, cut, launcher, resume=True))
    log = _text_logs(cut)
    assert f'resumed epoch: 0, iter: {CKPT}' in log
    assert 'holds no random states' not in log

    full_log, cut_log = _logged(full), _logged(cut)
    assert sorted(full_log) == list(range(1, ITERS + 1))
    assert sorted(cut_log) == list(range(1, ITERS + 1))
    for it in range(CKPT + 1, ITERS + 1):
        assert cut_log[it] == full_log[it], it
    assert full_log[ITERS]['loss'] != full_log[ITERS - 1]['loss']

    ref, ours = _weights(full), _weights(cut)
    assert ref.keys() == ours.keys()
    diff = max((ours[k].double() - ref[k].double()).abs().max().item()
               for k in ref if ref[k].numel())
    print(f'{launcher}: max abs diff of the final weights {diff}')
    assert diff == 0
