"""Two-node training as ``torchrun`` runs it, both nodes on localhost.

``torchrun --nnodes 2 --node-rank 0/1 --nproc-per-node 1 --master-addr
127.0.0.1 --master-port P <mmseg>/.mim/tools/train.py CONFIG --launcher
pytorch``: the command of the README's multi-node section, one process per
"node", gloo on CPU (the ``pytorch`` launcher without CUDA:
:mod:`mmseg_ext.utils.dist`). A few iterations of SFNet-R18 at a 64x128
crop on the real Cityscapes sample; both ranks must finish and rank 0's log
must report a world size of 2.
"""
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import torch
from conftest import REPO, clean_env

from tools.main_job.cityscapes import cityscapes_train_options
from tools.main_job.options import load_config
from tools.main_job.outputs import read_losses
from tools.main_job.sfnet import R18

ITERS = 2
CROP = (64, 128)
DIST_CPU = [
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None', 'model.backbone.norm_cfg.type=BN',
    'model.neck.norm_cfg.type=BN', 'model.decode_head.norm_cfg.type=BN'
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _train_script() -> str:
    # what `mim train mmseg` runs
    import mmseg
    return osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')


def test_two_nodes_one_process_each_on_localhost(cityscapes_root, tmp_path):
    work = tmp_path / 'multinode'
    opts = cityscapes_train_options(
        load_config(osp.join(REPO, R18)), cityscapes_root, ITERS,
        crop=CROP) + DIST_CPU
    port = _free_port()
    env = dict(clean_env(), OMP_NUM_THREADS='1')
    procs = []
    for node in (0, 1):
        cmd = [
            sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2',
            '--node-rank',
            str(node), '--nproc-per-node', '1', '--master-addr', '127.0.0.1',
            '--master-port',
            str(port),
            _train_script(), R18, '--launcher', 'pytorch', '--work-dir',
            str(work), '--cfg-options', *opts
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True))
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=600)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    for node, (p, out) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, f'node {node} failed:\n{out[-3000:]}'
    log = outs[0]
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's label for the world size
    ckpt = torch.load(work / f'iter_{ITERS}.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == ITERS  # mmengine keeps no world size here
    losses = read_losses(str(work))
    assert len(losses) == ITERS and all(np.isfinite(losses))
