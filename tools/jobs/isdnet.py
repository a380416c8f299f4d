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
(ISDNet's figure), both read from the per-class table of the test log.
"""
import math
import os
import os.path as osp
import sys
from typing import Dict, List

from .common import (MIM, REPO, fps_table, read_losses, read_metric, run,
                     short_run_options, short_test_run_options)

DEEPGLOBE = 'configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py'
INRIA = 'configs/isdnet/isdnet_r18-d8_4xb1-40k_inria-2000x2000.py'
DEEPLABV3 = 'configs/isdnet/deeplabv3_r18-d8_4xb2-80k_deepglobe-1224x1224.py'
CONVERTERS = osp.join(REPO, 'tools', 'dataset_converters')
ITERS = 30
CROP = 128
# sample tile sizes (data/README.md): DeepGlobe 142x142, Inria 1000x1000
DEEPGLOBE_SIZE = 142
INRIA_SIZE = 1000
INRIA_SAMPLE = 'aerial_sample'


def short_train_options(data_root: str,
                        iters: int,
                        scale: int,
                        crop: int = CROP) -> List[str]:
    """``--cfg-options`` turning a published ISDNet DeepGlobe/Inria config
    into a CPU smoke run from scratch on ``data_root/img_dir/train``.

    ``scale`` replaces the published ``RandomResize`` scale (2448 / 5000, the
    tile size) and the test ``Resize`` scale; the ratio range stays as
    published (1.0 / 0.8). Validation reads the training tile.
    """
    return short_run_options(data_root, iters) + [
        'val_dataloader.dataset.data_prefix.img_path=img_dir/train',
        'val_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
        f'train_dataloader.dataset.pipeline.2.scale=({scale},{scale})',
        f'train_dataloader.dataset.pipeline.3.crop_size=({crop},{crop})',
        f'model.data_preprocessor.size=({crop},{crop})',
        f'val_dataloader.dataset.pipeline.1.scale=({scale},{scale})',
        'train_dataloader.batch_size=2',
        # from scratch: neither ImageNet ResNet-18 nor STDC1 is downloaded
        'model.pretrained=None',
        'model.refine_head.shallow_net.init_cfg=None',
    ]


def short_test_options(data_root: str, scale: int) -> List[str]:
    """``--cfg-options`` for a whole-image test on the training tile at
    ``scale``."""
    return short_test_run_options(data_root) + [
        'test_dataloader.dataset.data_prefix.img_path=img_dir/train',
        'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
        f'test_dataloader.dataset.pipeline.1.scale=({scale},{scale})',
        'model.pretrained=None',
        'model.refine_head.shallow_net.init_cfg=None',
    ]


def read_class_iou(work_dir: str) -> Dict[str, float]:
    """Per-class IoU (%) from the last ``per class results`` table that
    mmseg's ``IoUMetric`` wrote into a ``<timestamp>.log`` under
    ``work_dir`` (``nan`` for classes absent from prediction and ground
    truth)."""
    table = {}
    for root, _, files in os.walk(work_dir):
        for name in sorted(files):
            if not (name.endswith('.log') and name[:8].isdigit()):
                continue
            with open(osp.join(root, name)) as f:
                lines = f.read().splitlines()
            for i, line in enumerate(lines):
                cells = [c.strip() for c in line.strip('|').split('|')]
                if cells[:2] == ['Class', 'IoU']:
                    table = {}
                    for row in lines[i + 2:]:
                        if not row.startswith('|'):
                            break
                        cls, iou = [
                            c.strip() for c in row.strip('|').split('|')
                        ][:2]
                        table[cls] = float(iou)
    if not table:
        raise RuntimeError(f'no per-class IoU table in the logs under '
                           f'{work_dir}')
    return table


def nanmean(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float('nan')


def sample_lists(data_root: str, work: str) -> Dict[str, str]:
    """Split-list folders for the samples (see the module docstring)."""
    dg_lists = osp.join(work, 'splits', 'deepglobe')
    os.makedirs(dg_lists, exist_ok=True)
    present = set(os.listdir(osp.join(data_root, 'deepglobe', 'train')))
    for list_name in ('train.txt', 'crossvali.txt', 'test.txt'):
        with open(osp.join(data_root, 'splits', 'deepglobe', list_name)) as f:
            names = [n.strip() for n in f if n.strip() in present]
        with open(osp.join(dg_lists, list_name), 'w') as f:
            f.writelines(n + '\n' for n in names)
    ia_lists = osp.join(work, 'splits', 'inria')
    os.makedirs(ia_lists, exist_ok=True)
    with open(osp.join(ia_lists, 'train.txt'), 'w') as f:
        f.write(f'{INRIA_SAMPLE}_sat.tif\n')
    return dict(deepglobe=dg_lists, inria=ia_lists)


def convert_samples(data_root: str, work: str) -> Dict[str, str]:
    """Run both converters on the samples; return the converted roots."""
    for name in ('deepglobe', 'inria'):
        if not osp.isdir(osp.join(data_root, name, 'train')):
            raise FileNotFoundError(
                f'{name} sample not found under {data_root} (expected '
                f'{name}/train/; link it with `bash tools/link_data.sh '
                '../shared/data`)')
    lists = sample_lists(data_root, work)
    roots = dict(
        deepglobe=osp.join(work, 'data', 'deepglobe_landcover'),
        inria=osp.join(work, 'data', 'inria_aerial'))
    run([
        sys.executable,
        osp.join(CONVERTERS, 'deepglobe.py'),
        osp.join(data_root, 'deepglobe'), '--splits-dir', lists['deepglobe'],
        '-o', roots['deepglobe'], '--splits', 'train', '--unmatched', 'unknown'
    ])
    run([
        sys.executable,
        osp.join(CONVERTERS, 'inria.py'),
        osp.join(data_root, 'inria'), '--splits-dir', lists['inria'], '-o',
        roots['inria'], '--splits', 'train'
    ])
    return roots


def train_and_test(config: str, root: str, work: str, iters: int,
                   scale: int) -> Dict:
    """Train ``config`` under ``work/train``, test it under ``work/test``."""
    train_dir = osp.join(work, 'train')
    test_dir = osp.join(work, 'test')
    ckpt = osp.join(train_dir, f'iter_{iters}.pth')
    run([
        MIM, 'train', 'mmseg', config, '--work-dir', train_dir,
        '--cfg-options', *short_train_options(root, iters, scale)
    ])
    run([
        MIM, 'test', 'mmseg_ext', config, '--checkpoint', ckpt, '--work-dir',
        test_dir, '--cfg-options', *short_test_options(root, scale)
    ])
    losses = read_losses(train_dir)
    return dict(
        loss_first=losses[0],
        loss_last=losses[-1],
        mIoU=read_metric(test_dir, 'mIoU'),
        class_iou=read_class_iou(test_dir),
        checkpoint=ckpt)


def run_job(work: str,
            data_root: str,
            iters: int = ITERS,
            fps_size: int = 2448,
            fps_iters: int = 2) -> dict:
    """Run the ISDNet stage under ``work``; return its measured figures."""
    roots = convert_samples(data_root, work)
    dg = train_and_test(DEEPGLOBE, roots['deepglobe'],
                        osp.join(work, 'deepglobe'), iters, DEEPGLOBE_SIZE)
    ia = train_and_test(INRIA, roots['inria'], osp.join(work, 'inria'), iters,
                        INRIA_SIZE)
    fps = fps_table([DEEPGLOBE, DEEPLABV3], osp.join(work, 'fps.md'), fps_size,
                    fps_size, fps_iters)
    dg_iou = dg['class_iou']
    return dict(
        train_iters=iters,
        deepglobe_loss_first=dg['loss_first'],
        deepglobe_loss_last=dg['loss_last'],
        deepglobe_mIoU_7_classes=dg['mIoU'],
        deepglobe_mIoU_without_unknown=nanmean(v for k, v in dg_iou.items()
                                               if k != 'unknown'),
        deepglobe_class_iou=dg_iou,
        deepglobe_checkpoint=dg['checkpoint'],
        inria_loss_first=ia['loss_first'],
        inria_loss_last=ia['loss_last'],
        inria_building_IoU=ia['class_iou']['building'],
        inria_mIoU=ia['mIoU'],
        inria_checkpoint=ia['checkpoint'],
        fps_table=fps)
