"""ISDNet on the real DeepGlobe and Inria samples: convert, train, test, FPS.

1. The samples are laid out by the dataset converters, as users do
   (``tools/dataset_converters/{deepglobe,inria}.py``) into ``work/data``:
   DeepGlobe tile 6399 is in GLNet's ``train.txt``, so the real lists under
   ``<data_root>/splits/deepglobe`` are kept to the tiles present in the
   sample (the converter itself refuses lists naming missing tiles); the
   Inria crop is in no published list, so a one-line ``train.txt`` in FCtL's
   format names it. The DeepGlobe sample was resized to 142 px, which
   blurred two pixels into red (255, 0, 0) after the 128 threshold: they
   become ``unknown`` (``--unmatched unknown``, GLNet's rule for unmatched
   colours).
2. ``mim train mmseg configs/isdnet/<config>`` from scratch (no ImageNet
   weights: no downloads), a short CPU run on small crops at the published
   scales: DeepGlobe tiles kept at their own size (the published
   ``RandomResize`` ratio 1.0) and Inria tiles resized by 0.8, crops of
   128 px instead of 1224 / 2000, batch 2 (the ASPP image-pool BN needs more
   than one value per channel), no worker processes.
3. ``mim test mmseg_ext`` whole-image at the tile's own size (the published
   test protocol: 2448 and 5000 are the tiles' sizes). There is one tile per
   dataset, so val and test read the training tile.
4. ``tools/fps_test.py`` at 2448x2448 for ISDNet and the DeepLabV3-R18
   baseline (the official fps_test feeds ``0.8 x`` the given size; the
   figures here are on the given size, on CPU).

DeepGlobe is reported as mmseg's 7-class mIoU and as the mean without
``unknown`` (GLNet/FCtL/ISDNet's figure); Inria as the ``building`` IoU
(ISDNet's figure), both from the per-class IoU that
:class:`~mmseg_ext.evaluation.ClassIoUMetric` adds to the test summary.
"""

import os
import os.path as osp
import sys
from functools import partial
from typing import Dict, List

from mmengine.config import Config

from mmseg_ext.utils.atomic_io import atomic_file
from .options import (load_config, sample_root, short_run_options,
                      short_test_run_options, size, transform_option)
from .outputs import class_iou, nanmean
from .stage import FpsRun, ModelRun, Stage, first_last, run

DEEPGLOBE = 'configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py'
INRIA = 'configs/isdnet/isdnet_r18-d8_4xb1-40k_inria-2000x2000.py'
DEEPLABV3 = 'configs/isdnet/deeplabv3_r18-d8_4xb2-80k_deepglobe-1224x1224.py'
CONVERTERS = osp.join('tools', 'dataset_converters')
ITERS = 30
CROP = 128
# sample tile sizes (data/README.md): DeepGlobe 142x142, Inria 1000x1000
DEEPGLOBE_SIZE = 142
INRIA_SIZE = 1000
INRIA_SAMPLE = 'aerial_sample'
# from scratch: neither ImageNet ResNet-18 nor STDC1 is downloaded
FROM_SCRATCH = [
    'model.pretrained=None', 'model.refine_head.shallow_net.init_cfg=None'
]


def aerial_train_options(cfg: Config,
                         data_root: str,
                         iters: int,
                         scale: int,
                         crop: int = CROP) -> List[str]:
    """``--cfg-options`` turning a published ISDNet DeepGlobe/Inria config
    ``cfg`` into a CPU smoke run from scratch on ``data_root/img_dir/train``.

    ``scale`` replaces the published ``RandomResize`` scale (2448 / 5000, the
    tile size) and the validation ``Resize`` scale; the ratio range stays as
    published (1.0 / 0.8). Validation reads the training tile.
    """
    train = 'train_dataloader.dataset.pipeline'
    return short_run_options(data_root, iters) + [
        'val_dataloader.dataset.data_prefix.img_path=img_dir/train',
        'val_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
        transform_option(cfg, train, 'RandomResize', 'scale', size(
            scale, scale)),
        transform_option(cfg, train, 'RandomCrop', 'crop_size', size(
            crop, crop)),
        f'model.data_preprocessor.size={size(crop, crop)}',
        transform_option(cfg, 'val_dataloader.dataset.pipeline', 'Resize',
                         'scale', size(scale, scale)),
        'train_dataloader.batch_size=2',
    ] + FROM_SCRATCH


def aerial_test_options(cfg: Config, data_root: str, scale: int) -> List[str]:
    """``--cfg-options`` for a whole-image test of ``cfg`` on the training
    tile at ``scale``, with per-class IoU in the test summary
    (:class:`~mmseg_ext.evaluation.ClassIoUMetric`)."""
    return short_test_run_options(data_root) + [
        'test_dataloader.dataset.data_prefix.img_path=img_dir/train',
        'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
        transform_option(cfg, 'test_dataloader.dataset.pipeline', 'Resize',
                         'scale', size(scale, scale)),
        'test_evaluator.type=ClassIoUMetric',
    ] + FROM_SCRATCH


def write_list(path: str, names: List[str]) -> None:
    """A split list, one name a line."""
    with atomic_file(path, 'w') as f:
        f.writelines(n + '\n' for n in names)


def sample_lists(data_root: str, work: str) -> Dict[str, str]:
    """Split-list folders for the samples (see the module docstring)."""
    dg_lists = osp.join(work, 'splits', 'deepglobe')
    present = set(os.listdir(osp.join(data_root, 'deepglobe', 'train')))
    for list_name in ('train.txt', 'crossvali.txt', 'test.txt'):
        with open(osp.join(data_root, 'splits', 'deepglobe', list_name)) as f:
            names = [n.strip() for n in f if n.strip() in present]
        write_list(osp.join(dg_lists, list_name), names)
    ia_lists = osp.join(work, 'splits', 'inria')
    write_list(osp.join(ia_lists, 'train.txt'), [f'{INRIA_SAMPLE}_sat.tif'])
    return dict(deepglobe=dg_lists, inria=ia_lists)


def converted_roots(work: str) -> Dict[str, str]:
    """Where :func:`convert_samples` lays out each dataset."""
    return dict(
        deepglobe=osp.join(work, 'data', 'deepglobe_landcover'),
        inria=osp.join(work, 'data', 'inria_aerial'))


def check_samples(data_root: str) -> None:
    """Raises:
        FileNotFoundError: If a sample has no ``train/`` (says what to link).
    """
    for name in ('deepglobe', 'inria'):
        sample_root(data_root, name, 'train')


def convert_samples(repo: str, data_root: str, work: str) -> Dict[str, str]:
    """Run both converters (from ``repo``) on the samples; return the
    converted roots."""
    check_samples(data_root)
    lists = sample_lists(data_root, work)
    roots = converted_roots(work)
    run([
        sys.executable,
        osp.join(CONVERTERS, 'deepglobe.py'),
        osp.join(data_root, 'deepglobe'), '--splits-dir', lists['deepglobe'],
        '-o', roots['deepglobe'], '--splits', 'train', '--unmatched', 'unknown'
    ], repo)
    run([
        sys.executable,
        osp.join(CONVERTERS, 'inria.py'),
        osp.join(data_root, 'inria'), '--splits-dir', lists['inria'], '-o',
        roots['inria'], '--splits', 'train'
    ], repo)
    return roots


def build(repo: str, data_root: str, work: str, iters: int = ITERS) -> Stage:
    """The ISDNet stage (see the module docstring)."""
    check_samples(data_root)
    roots = converted_roots(work)
    runs = {}
    for name, config, scale in (('deepglobe', DEEPGLOBE, DEEPGLOBE_SIZE),
                                ('inria', INRIA, INRIA_SIZE)):
        cfg = load_config(osp.join(repo, config))
        runs[name] = ModelRun(
            config, iters, aerial_train_options(cfg, roots[name], iters,
                                                scale),
            aerial_test_options(cfg, roots[name], scale))
    return Stage(
        runs,
        prepare=[partial(convert_samples, repo, data_root, work)],
        fps=FpsRun([DEEPGLOBE, DEEPLABV3], 2448, 2448, 2))


def figures(result: dict, iters: int = ITERS) -> dict:
    """The stage's summary: per dataset the logged loss first/last, the
    figures the papers report (see the module docstring), the checkpoints,
    and the FPS table."""
    dg, ia = result['deepglobe'], result['inria']
    dg_iou = class_iou(dg['metrics'])
    return dict(
        train_iters=iters,
        **first_last(dg['losses']['loss'], 'deepglobe_loss'),
        deepglobe_mIoU_7_classes=dg['metrics']['mIoU'],
        deepglobe_mIoU_without_unknown=nanmean(v for k, v in dg_iou.items()
                                               if k != 'unknown'),
        deepglobe_class_iou=dg_iou,
        deepglobe_checkpoint=dg['checkpoint'],
        **first_last(ia['losses']['loss'], 'inria_loss'),
        inria_building_IoU=class_iou(ia['metrics'])['building'],
        inria_mIoU=ia['metrics']['mIoU'],
        inria_checkpoint=ia['checkpoint'],
        fps_table=result['fps_table'])
