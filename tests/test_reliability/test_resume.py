"""``--resume`` after a SIGKILL continues bit-exactly (RandomStateHook).

SFNet-R18 (its PPM dropout at the configured 0.1) on the real Cityscapes
sample at a 32x64 crop: an uninterrupted run of mmseg's ``tools/train.py``
(what ``mim train mmseg`` runs) of 4 iterations, checkpoint and validation
every 2, against a run SIGKILLed (with all its processes) right after its
iteration-2 checkpoint and resumed with ``--resume``. Every logged value of
iterations 3-4 and every final weight must be equal (max abs diff 0), in one
process and in 2-process gloo DDP (``torch.distributed.run --nproc_per_node
2 ... --launcher pytorch``). Without the hook's RNG states the dropout masks
after the resume differ, and so do the losses and weights (README,
"Reliability: resume, checkpoints").
"""
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import mmseg
import pytest
import torch
from conftest import REPO, clean_env

from tools.main_job.cityscapes import cityscapes_train_options
from tools.main_job.options import load_config
from tools.main_job.sfnet import R18

ITERS, CKPT = 4, 2
NOT_COMPARED = ('time', 'data_time', 'eta', 'memory')
DDP = [
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None', 'model.backbone.norm_cfg.type=BN',
    'model.neck.norm_cfg.type=BN', 'model.decode_head.norm_cfg.type=BN'
]
# what `mim train mmseg` runs (called directly: mim's own start-up would
# cost 6 of this file's seconds)
TRAIN = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')


def _env() -> dict:
    env = clean_env()
    env['OMP_NUM_THREADS'] = '1'  # 2 ranks on 2 cores; same in every run
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _command(cityscapes_root, work, launcher, resume=False):
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
    args = [R18, '--work-dir', work, *(['--resume'] if resume else [])]
    if launcher == 'pytorch':
        return [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
            '2', '--master_port',
            _free_port(), TRAIN, *args, '--launcher', 'pytorch',
            '--cfg-options', *DDP, *opts
        ]
    return [sys.executable, TRAIN, *args, '--cfg-options', *opts]


def _run(cmd):
    proc = subprocess.run([str(c) for c in cmd],
                          cwd=REPO,
                          env=_env(),
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _descendants(pid: int) -> list:
    """``pid`` and every process below it (torchrun starts its workers in
    sessions of their own, so a process-group kill would miss them)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all its descendants at once (a crash)."""
    for p in _descendants(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _run_killed_after_checkpoint(cmd, work):
    """Start ``cmd``; SIGKILL it and all its processes as soon as
    ``last_checkpoint`` names the iteration-``CKPT`` checkpoint."""
    marker = osp.join(work, 'last_checkpoint')
    with open(osp.join(work, 'killed.log'), 'w') as log:
        proc = subprocess.Popen([str(c) for c in cmd],
                                cwd=REPO,
                                env=_env(),
                                stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                if osp.exists(marker) and open(marker).read().endswith(
                        f'iter_{CKPT}.pth'):
                    break
                time.sleep(0.01)
        finally:
            _kill_tree(proc.pid)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, open(log.name).read()[-3000:]
    time.sleep(1)  # nothing of the killed run may still be writing
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
def test_resume_after_sigkill_is_bit_exact(cityscapes_root, tmp_path,
                                           launcher):
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    cut.mkdir()
    _run(_command(cityscapes_root, full, launcher))
    _run_killed_after_checkpoint(_command(cityscapes_root, cut, launcher), cut)
    _run(_command(cityscapes_root, cut, launcher, resume=True))
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
