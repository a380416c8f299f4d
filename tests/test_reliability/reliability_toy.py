"""A tiny model and dataset for training runs that get killed, restarted,
signalled and resumed (imported by the runs' config through
``custom_imports``; not a test module).

The model has dropout and the dataset draws Python ``random`` and numpy
noise in the main process (``num_workers=0``), so a resume that restored no
random state would diverge. A 1 MB buffer makes each checkpoint big enough
to be cut mid-write by a file-size limit. ``RELIABILITY_FAULT`` lists
faults, ``ATTEMPT:KIND:RANK:ITER`` separated by commas, each injected in the
forward of the 0-based iteration ``ITER`` (the message hub's ``iter``) of
process ``RANK`` in the ``ATTEMPT``-th start of the worker group
(``TORCHELASTIC_RESTART_COUNT``, 0 without torchrun):

* ``kill``: SIGKILL this process (a crashed worker);
* ``term``: SIGTERM this process (a preemption);
* ``fsize``: limit file sizes to 256 kB, so the next checkpoint save is
  killed by SIGXFSZ in the middle of writing.

``RELIABILITY_SLEEP`` (seconds) slows each iteration (time to send a
signal).
"""
import os
import random
import resource
import signal
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmseg.registry import DATASETS, MODELS

FSIZE_LIMIT = 256 << 10


def _fault(iteration: int) -> None:
    attempt = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'))
    rank = int(os.environ.get('RANK', '0'))
    for spec in os.environ.get('RELIABILITY_FAULT', '').split(','):
        if not spec:
            continue
        at_attempt, kind, at_rank, at_iter = spec.split(':')
        if (int(at_attempt), int(at_rank), int(at_iter)) != \
                (attempt, rank, iteration):
            continue
        if kind == 'kill':
            os.kill(os.getpid(), signal.SIGKILL)
        elif kind == 'term':
            os.kill(os.getpid(), signal.SIGTERM)
        elif kind == 'fsize':
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (FSIZE_LIMIT, FSIZE_LIMIT))


@MODELS.register_module()
class ReliabilityToyModel(BaseModel):

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(8, hidden)
        self.drop = torch.nn.Dropout(0.5)
        self.fc2 = torch.nn.Linear(hidden, 1)
        self.register_buffer('ballast', torch.zeros(1 << 18))  # 1 MB
        self.num_classes = 1  # LabelCheckHook: no labels to check here

    def forward(self, x, y, mode='loss'):
        iteration = MessageHub.get_current_instance().get_info('iter', -1)
        _fault(iteration)
        time.sleep(float(os.environ.get('RELIABILITY_SLEEP', '0')))
        out = self.fc2(self.drop(torch.relu(self.fc1(torch.stack(x)))))
        return dict(loss=(out.squeeze(1) - torch.stack(y)).pow(2).mean())


@DATASETS.register_module()
class ReliabilityToyDataset(torch.utils.data.Dataset):

    def __init__(self, length: int = 16) -> None:
        self.length = length
        self.metainfo = dict(classes=('toy', ))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        g = torch.Generator().manual_seed(index)
        x = torch.randn(8, generator=g)
        x = x + float(np.random.rand()) + random.random()  # augmentation
        return dict(x=x, y=x.sum() / 4)


def toy_config(folder: str,
               repo: str,
               max_iters: int = 6,
               interval: int = 2) -> str:
    """Write the runs' config (inheriting the package's runtime base, so its
    hooks and runner are the shipped ones) into ``folder``; return its
    path."""
    text = f'''_base_ = [{os.path.join(repo, 'configs', '_base_',
                                       'default_runtime.py')!r}]
custom_imports = dict(
    imports=['mmseg_ext', 'reliability_toy'], allow_failed_imports=False)
model = dict(type='ReliabilityToyModel')
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ReliabilityToyDataset'),
    collate_fn=dict(type='pseudo_collate'))
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters={max_iters}, val_interval=1000)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, end={max_iters},
         by_epoch=False)
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval={interval}))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
randomness = dict(seed=0, deterministic=True)
'''
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, 'toy_config.py')
    with open(path, 'w') as f:
        f.write(text)
    return path


def build_runner(config: str, work_dir: str, **changes):
    """A Runner of ``config`` in this process (``runner_type`` honoured, as
    mmseg's ``tools/train.py`` builds it), ``changes`` merged
    (``{'train_cfg.max_iters': 4, 'resume': True}``)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(changes)
    cfg.work_dir = work_dir
    # one logger and one visualizer (it writes scalars.json) per runner:
    # the base names its visualizer 'visualizer', which mmengine reuses
    cfg.experiment_name = f'toy_{time.time_ns()}'
    cfg.visualizer.name = cfg.experiment_name
    return RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
