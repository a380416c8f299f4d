"""One mmseg training loop for our SFNet-R18 and the official network.

A benchmark, not a test: ``tools/misc/same_loop_compare.py`` trains our
SFNet-R18 (``configs/_base_/models/sfnet_r18-d32.py``, our init) and the
official ``DeepR18_SF_deeply`` (lxtGH/SFSegNets ``network/sfnet_resnet.py``,
its own init, no ImageNet file) from scratch with the same mmengine runner,
data, data order, loss (our ``OhemCrossEntropyLoss`` (0.7, 10000), which the
training-step parity test shows equal to the official
``OhemCrossEntropy2dTensor``), SGD (lr 0.01, momentum 0.9, wd 1e-4), poly
schedule and seed, and records the loss of every iteration.

The official network enters the loop as :class:`OfficialSFNetSegmentor`, an
mmseg segmentor whose ``loss`` runs it in train mode (its training forward
returns the upsampled logits through the criterion slot) and applies the
loss; its checkout must be on ``PYTHONPATH``.
"""
import copy
import hashlib
import sys
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import HOOKS, MODELS

from .golden.common import OfficialCode, apex_stub, bn_and_no_pretrained
from .golden.sfnet_train import COMMIT, REPO


@HOOKS.register_module()
class LossRecorderHook(Hook):
    """Keeps ``outputs['loss']`` of every training iteration and a digest
    of each batch's labels (to show both runs saw the same data)."""

    def __init__(self):
        self.losses: List[float] = []
        self.digests: List[str] = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss'].detach()))
        if len(self.losses) % 50 == 0:
            print(
                f'iter {len(self.losses)}: loss {self.losses[-1]:.4f}',
                file=sys.stderr,
                flush=True)
        labels = torch.stack(
            [s.gt_sem_seg.data for s in data_batch['data_samples']])
        self.digests.append(
            hashlib.sha1(labels.numpy().tobytes()).hexdigest()[:12])


class _Logits(torch.nn.Module):
    """The official criterion slot: hands back the upsampled logits."""

    def forward(self, logits, gts):
        return logits


@MODELS.register_module()
class OfficialSFNetSegmentor(BaseSegmentor):
    """The official SFNet-R18 network as an mmseg segmentor.

    Args:
        num_classes (int): Classes.
        loss_decode (dict): Loss config (as a decode head's).
        data_preprocessor (dict): As mmseg's segmentors.
        ignore_index (int): Void label. Default: 255.

    Raises:
        ImportError: If the official SFSegNets checkout is not on
            ``PYTHONPATH``.
    """

    def __init__(self,
                 num_classes: int,
                 loss_decode: dict,
                 data_preprocessor: Optional[dict] = None,
                 ignore_index: int = 255,
                 init_cfg=None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        with OfficialCode(REPO, COMMIT, 'same_loop',
                          {'apex': apex_stub}) as code:
            sfnet = code.import_module('network.sfnet_resnet')
            with bn_and_no_pretrained(code, (18, )):
                self.net = sfnet.DeepR18_SF_deeply(num_classes, _Logits())
        self.loss_decode = MODELS.build(loss_decode)
        self.ignore_index = ignore_index
        self.num_classes = num_classes

    def extract_feat(self, inputs):
        raise NotImplementedError('training only')

    def encode_decode(self, inputs, batch_data_samples):
        return self.net(inputs)

    def _forward(self, inputs, data_samples=None):
        return self.net(inputs)

    def predict(self, inputs, data_samples=None):
        raise NotImplementedError('training only')

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        logits = self.net(inputs)  # train mode: through _Logits
        label = torch.stack([s.gt_sem_seg.data for s in data_samples])
        return {
            'decode.loss_ohem_ce':
            self.loss_decode(
                logits, label.squeeze(1), ignore_index=self.ignore_index)
        }


def _plain_bn(node):
    """``SyncBN`` -> ``BN`` everywhere in a config node (one CPU process)."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            _plain_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _plain_bn(value)
    return node


def make_config(variant: str, data_root: str, work_dir: str, iters: int,
                crop: int, seed: int, ours_cfg: str):
    """The mmengine config of one run.

    Args:
        variant (str): ``'ours'`` (``ours_cfg``'s model) or ``'official'``.
        data_root (str): iSAID patches (``img_dir/{train,val}``,
            ``ann_dir/{train,val}``, ``tools/dataset_converters/isaid.py``);
            both splits train.
        work_dir (str): The runner's work dir.
        iters (int): Training iterations (batch 2).
        crop (int): Square random crop.
        seed (int): The runner's seed (deterministic mode).
        ours_cfg (str): Our SFNet-R18 config.

    Raises:
        ValueError: For an unknown ``variant``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(ours_cfg)
    num_classes = 16
    ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept=10000)
    pre = dict(copy.deepcopy(cfg.model.data_preprocessor), size=(crop, crop))
    if variant == 'ours':
        model = _plain_bn(copy.deepcopy(cfg.model))
        model.data_preprocessor = pre
        model.decode_head.num_classes = num_classes
        model.decode_head.loss_decode = ohem
    elif variant == 'official':
        model = dict(
            type='OfficialSFNetSegmentor',
            num_classes=num_classes,
            loss_decode=ohem,
            data_preprocessor=pre)
    else:
        raise ValueError(f'variant must be ours or official, got {variant!r}')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomCrop', crop_size=(crop, crop)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    splits = [
        dict(
            type='iSAIDDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path=f'img_dir/{s}', seg_map_path=f'ann_dir/{s}'),
            pipeline=pipeline) for s in ('train', 'val')
    ]
    return Config(
        dict(
            default_scope='mmseg',
            custom_imports=dict(
                imports=['mmseg_ext', 'tools.fidelity.same_loop'],
                allow_failed_imports=False),
            model=model,
            work_dir=work_dir,
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='InfiniteSampler', shuffle=True),
                dataset=dict(type='ConcatDataset', datasets=splits)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(
                    type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)),
            param_scheduler=[
                dict(
                    type='PolyLR',
                    eta_min=1e-4,
                    power=1.0,
                    begin=0,
                    end=iters,
                    by_epoch=False)
            ],
            default_hooks=dict(
                timer=dict(type='IterTimerHook'),
                logger=dict(
                    type='LoggerHook', interval=50, log_metric_by_epoch=False),
                param_scheduler=dict(type='ParamSchedulerHook'),
                checkpoint=None),
            env_cfg=dict(
                cudnn_benchmark=False,
                dist_cfg=dict(backend='gloo'),
                mp_cfg=dict(mp_start_method='fork')),
            randomness=dict(seed=seed, deterministic=True),
            log_level='WARNING'))


def run(variant: str, **kwargs) -> dict:
    """Train one variant (:func:`make_config` arguments); returns
    ``{'losses': [...], 'digests': [...]}``."""
    from mmengine.runner import Runner
    torch.set_num_threads(1)  # the same float sums in every run
    cfg = make_config(variant, **kwargs)
    runner = Runner.from_cfg(cfg)
    recorder = LossRecorderHook()
    runner.register_hook(recorder, priority='LOWEST')
    runner.train()
    return dict(losses=recorder.losses, digests=recorder.digests)


def summary(losses: List[float]) -> dict:
    """``first``, ``last``, ``mean_last20`` and ``mean_first20``."""
    return dict(
        first=losses[0],
        last=losses[-1],
        mean_first20=sum(losses[:20]) / len(losses[:20]),
        mean_last20=sum(losses[-20:]) / len(losses[-20:]))


def main(argv=None) -> int:
    """The command line of ``tools/misc/same_loop_compare.py``."""
    import argparse
    import json
    import os.path as osp

    from mmseg_ext.datasets.preparation.isaid.conversion import convert
    from mmseg_ext.utils.atomic_io import atomic_file
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--isaid',
        default='data/isaid',
        help='iSAID download layout (train/, val/)')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True, help='JSON of the losses')
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--crop', type=int, default=128)
    parser.add_argument(
        '--patch', type=int, default=256, help='iSAID patch size (and stride)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--variants', nargs='+', default=['ours', 'official'])
    parser.add_argument(
        '--config',
        default='configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py',
        help='our SFNet-R18 config (its model)')
    args = parser.parse_args(argv)
    data_root = osp.join(args.work_dir, 'isaid')
    try:
        convert(args.isaid, data_root, ['train', 'val'], args.patch,
                args.patch, [], 1)
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    results = {}
    for variant in args.variants:
        out = run(
            variant,
            data_root=data_root,
            work_dir=osp.join(args.work_dir, variant),
            iters=args.iters,
            crop=args.crop,
            seed=args.seed,
            ours_cfg=args.config)
        out['summary'] = summary(out['losses'])
        results[variant] = out
        print(variant, json.dumps(out['summary']))
    if len(results) > 1:
        digests = [r['digests'] for r in results.values()]
        print('same batches in every run:',
              all(d == digests[0] for d in digests))
    with atomic_file(args.out, 'w') as f:
        json.dump(dict(args=vars(args), results=results), f)
    return 0
