"""Training through mmengine's runner on CamVid frames, and kill-and-resume.

Configs are the repository's (SFNet-R18 Cityscapes, ISDNet DeepGlobe) with
what a short offline run on CamVid needs changed (:func:`camvid_config`):
the 11 CamVid classes, a train dataloader of the package's
``CamVidDataset`` (its Void, 11, ignored as 255) over ``<camvid>/train`` +
``trainannot`` with random crops of ``crop`` (360x480 frames -> 352x480,
divisible by 32, so the data preprocessor never pads), no validation, no
pretrained weights (the machine is offline), a poly schedule ending at the
run's last iteration, ``SyncBN`` reverted to BN by the runner (one
process).

:func:`train_runs` trains ``iters`` iterations per model and reports the
loss curve, iterations/s (median of mmengine's ``train/time`` after the
first 5 iterations) and peak CUDA memory. :func:`resume_check` runs SFNet-R18
``total`` iterations uninterrupted, then interrupted after the checkpoint
at ``total // 2`` (an exception raised right after the save: nothing after
it runs, as after a kill), resumed from that checkpoint with the project's
``RandomStateHook`` and, as a control, without it; it reports whether the
RNG state the resumed run starts from equals the one saved (CUDA's on a
GPU, torch's CPU generator otherwise) and the weights' max abs difference
to the uninterrupted run.
"""
import copy
import os.path as osp
import shutil
import statistics
import time
import uuid
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg_ext.apis import load_config
from mmseg_ext.datasets import CamVidDataset

TRAIN_MODELS = (
    ('sfnet_r18',
     'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'),
    ('isdnet_r18',
     'configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py'),
)


def _heads(model_cfg) -> list:
    heads = []
    for key in ('decode_head', 'auxiliary_head', 'refine_head'):
        head = model_cfg.get(key)
        heads += head if isinstance(head, list) else [head] if head else []
    return heads


def _no_pretrained(node) -> None:
    """Drop ``pretrained`` and every ``Pretrained`` ``init_cfg`` in place."""
    if isinstance(node, dict):
        if 'pretrained' in node:
            node['pretrained'] = None
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            _no_pretrained(value)
    elif isinstance(node, list):
        for value in node:
            _no_pretrained(value)


def camvid_dataset(camvid: str, crop: Tuple[int, int]) -> dict:
    """The train dataset over ``<camvid>/train`` and ``trainannot``.

    Raises:
        FileNotFoundError: If either folder is missing.
    """
    for sub in ('train', 'trainannot'):
        if not osp.isdir(osp.join(camvid, sub)):
            raise FileNotFoundError(
                f'CamVid frames not found: {osp.join(camvid, sub)} (give '
                '--camvid, a folder holding train/ and trainannot/)')
    return dict(
        type='CamVidDataset',
        data_root=camvid,
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomCrop', crop_size=crop),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ])


def camvid_config(config: str,
                  camvid: str,
                  work_dir: str,
                  iters: int,
                  batch: int,
                  crop: Tuple[int, int],
                  workers: int = 0,
                  checkpoint_interval: Optional[int] = None,
                  random_state_hook: bool = True) -> Config:
    """``config`` set up for a short CamVid run (see the module docstring).

    ``checkpoint_interval`` None saves no checkpoint; ``random_state_hook``
    False removes the project's ``RandomStateHook`` (the resume control).
    """
    cfg = copy.deepcopy(load_config(config))
    _no_pretrained(cfg.model)
    cfg.model.data_preprocessor.size = crop
    for head in _heads(cfg.model):
        head.num_classes = len(CamVidDataset.METAINFO['classes'])
    cfg.train_dataloader = dict(
        batch_size=batch,
        num_workers=workers,
        persistent_workers=workers > 0,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=camvid_dataset(camvid, crop))
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    cfg.param_scheduler = [
        dict(
            type='PolyLR',
            eta_min=1e-4,
            power=0.9,
            begin=0,
            end=iters,
            by_epoch=False)
    ]
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=1, log_metric_by_epoch=False)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=checkpoint_interval or iters + 1,
        save_last=False)
    cfg.default_hooks.pop('visualization', None)
    if not random_state_hook:
        cfg.custom_hooks = [
            h for h in cfg.custom_hooks if h['type'] != 'RandomStateHook'
        ]
    cfg.randomness = dict(seed=0)
    cfg.env_cfg.cudnn_benchmark = False
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    # mmengine keeps loggers and visualizers by name: each run its own
    cfg.experiment_name = f'{osp.basename(work_dir)}_{uuid.uuid4().hex[:8]}'
    cfg.visualizer.name = cfg.experiment_name
    return cfg


class StopAfter(Hook):
    """Raise :class:`Interrupted` after iteration ``n`` (1-based), after
    every other hook, the checkpoint save included, ran."""

    priority = 'LOWEST'

    def __init__(self, n: int):
        self.n = n

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 >= self.n:
            raise Interrupted(f'interrupted after iteration {self.n}')


class Interrupted(RuntimeError):
    """Raised by :class:`StopAfter`: the stand-in for a kill."""


class RngProbe(Hook):
    """Keep the RNG state of the first training iteration (CUDA's when the
    model is on a GPU, torch's CPU generator otherwise)."""

    priority = 'LOWEST'

    def __init__(self):
        self.state = None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self.state is None:
            self.state = _rng_state()


def _rng_state() -> torch.Tensor:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.get_rng_state()
    return torch.get_rng_state()


def _run(cfg: Config, hooks: List[Hook] = (), resume_from: str = None):
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    runner = Runner.from_cfg(cfg)
    for hook in hooks:
        runner.register_hook(hook)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        runner.train()
    except Interrupted:
        pass
    return runner


def _losses(runner) -> List[float]:
    return [
        float(v) for v in runner.message_hub.get_scalar('train/loss').data[0]
    ]


def train_runs(rec, deadline, settings: dict) -> None:
    """Train each of :data:`TRAIN_MODELS` for ``settings['train_iters']``;
    one result per model under ``steps["train"]["runs"]``.

    ``settings``: ``camvid``, ``work_root``, ``train_iters``, ``batch``,
    ``crop``, ``workers``, ``train_reserve_s``.
    """
    for name, config in TRAIN_MODELS:
        if not deadline.allows(settings['train_reserve_s']):
            rec.append('train', 'skipped', dict(model=name, reason='deadline'))
            continue
        with rec.guard('train', name):
            iters = settings['train_iters']
            work = osp.join(settings['work_root'], f'train_{name}')
            cfg = camvid_config(config, settings['camvid'], work, iters,
                                settings['batch'], settings['crop'],
                                settings['workers'])
            start = time.perf_counter()
            runner = _run(cfg)
            wall = time.perf_counter() - start
            losses = _losses(runner)
            times = runner.message_hub.get_scalar('train/time').data[0]
            steady = [float(t) for t in times[5:]] or [float(t) for t in times]
            head = statistics.mean(losses[:5])
            tail = statistics.mean(losses[-5:])
            result = dict(
                model=name,
                config=config,
                iters=iters,
                batch=settings['batch'],
                crop=list(settings['crop']),
                device=str(next(runner.model.parameters()).device),
                losses=losses,
                loss_first5_mean=head,
                loss_last5_mean=tail,
                loss_falls=tail < head,
                iter_per_s=1.0 / statistics.median(steady),
                wall_s=wall)
            if torch.cuda.is_available():
                result['peak_mem_mib'] = torch.cuda.max_memory_allocated() / \
                    2**20
            rec.append('train', 'runs', result)
            rec.log(f'train {name}: loss {head:.3f} -> {tail:.3f}, '
                    f"{result['iter_per_s']:.2f} it/s, "
                    f"peak {result.get('peak_mem_mib')} MiB")
            del runner
            shutil.rmtree(work, ignore_errors=True)


def _weights(runner) -> dict:
    return {
        k: v.detach().float().cpu().clone()
        for k, v in runner.model.state_dict().items()
    }


def _max_diff(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def resume_check(rec, deadline, settings: dict) -> None:
    """Kill-and-resume of SFNet-R18 under ``steps["resume"]``.

    ``settings``: as :func:`train_runs` plus ``resume_iters`` (even).
    """
    if not deadline.allows(settings['resume_reserve_s']):
        rec.set('resume', 'skipped', 'deadline')
        return
    name, config = TRAIN_MODELS[0]
    total = settings['resume_iters']
    half = total // 2
    root = osp.join(settings['work_root'], 'resume')

    def cfg(tag, hook=True):
        return camvid_config(
            config,
            settings['camvid'],
            osp.join(root, tag),
            total,
            settings['batch'],
            settings['crop'],
            0,
            checkpoint_interval=half,
            random_state_hook=hook)

    deterministic = torch.are_deterministic_algorithms_enabled()
    cudnn_det = torch.backends.cudnn.deterministic
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    try:
        with rec.guard('resume', name):
            full = _weights(_run(cfg('uninterrupted')))
            _run(cfg('interrupted'), [StopAfter(half)])
            ckpt = osp.join(root, 'interrupted', f'iter_{half}.pth')
            saved = torch.load(ckpt, map_location='cpu', weights_only=False)
            saved_state = saved['random_state']
            saved_rng = saved_state['cuda'] if saved_state.get(
                'cuda') is not None else saved_state['torch']
            result = dict(
                model=name,
                total_iters=total,
                interrupted_after=half,
                rng='cuda'
                if saved_state.get('cuda') is not None else 'torch-cpu')
            for tag, hook in (('resumed', True), ('resumed_without_hook',
                                                  False)):
                probe = RngProbe()
                runner = _run(cfg(tag, hook), [probe], resume_from=ckpt)
                diff = _max_diff(_weights(runner), full)
                result[tag] = dict(
                    rng_restored=bool(
                        torch.equal(probe.state.cpu(), saved_rng.cpu())),
                    weights_max_abs_diff=diff,
                    weights_equal=diff == 0.0,
                    end_iter=runner.iter)
                rec.set('resume', 'result', result)
            rec.log(f"resume {name}: with RandomStateHook {result['resumed']}"
                    f"; without {result['resumed_without_hook']}")
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.backends.cudnn.deterministic = cudnn_det
        shutil.rmtree(root, ignore_errors=True)
