"""SFNet on the real Cityscapes sample: train -> test -> submission -> FPS.

1. ``mim train mmseg configs/sfnet/<R18 config>`` for a short CPU run on
   ``<data_root>/cityscapes`` (the sample has only ``val``, so training reads
   it);
2. ``mim test mmseg_ext <R18 config> --checkpoint CKPT`` (mIoU on val, through
   IoUMetric) and with ``CityscapesEvalMetric`` (cityscapesscripts' evaluator);
3. ``mim test mmseg_ext <R18 cityscapes-test config> --checkpoint CKPT
   --format-only`` on the sample images (standing in for ``leftImg8bit/test``),
   writing labelIds PNGs for the Cityscapes server;
4. ``tools/fps_test.py`` for SFNet R18 and R50 at 512x1024.
"""
import os
import os.path as osp
from typing import List

from .common import (MIM, fps_table, read_losses, read_metric, run,
                     short_run_options, short_test_run_options)

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R18_TEST = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py'
R50 = 'configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py'
ITERS = 40


def short_train_options(data_root: str, iters: int,
                        crop=(128, 256)) -> List[str]:
    """``--cfg-options`` turning the published R18 config into a CPU smoke run.

    The sample's images are 256x128, so the published 2048x1024 resize and
    512x1024 crop are scaled down by 4; batch 2 (the PPM's 1x1 pooled BN needs
    more than one value per channel), no worker processes.
    """
    h, w = crop
    return short_run_options(data_root, iters) + [
        'train_dataloader.dataset.data_prefix.img_path=leftImg8bit/val',
        'train_dataloader.dataset.data_prefix.seg_map_path=gtFine/val',
        f'train_dataloader.dataset.pipeline.2.scale=({4 * w},{4 * h})',
        f'train_dataloader.dataset.pipeline.3.crop_size=({h},{w})',
        f'model.data_preprocessor.size=({h},{w})',
        f'val_dataloader.dataset.pipeline.1.scale=({2 * w},{2 * h})',
        'train_dataloader.batch_size=2',
    ]


def short_test_options(data_root: str, crop=(128, 256)) -> List[str]:
    """``--cfg-options`` for testing on the sample's val images."""
    h, w = crop
    return short_test_run_options(data_root) + [
        'test_dataloader.dataset.data_prefix.img_path=leftImg8bit/val',
        f'test_dataloader.dataset.pipeline.1.scale=({2 * w},{2 * h})',
    ]


def cityscapes_root(data_root: str) -> str:
    """``<data_root>/cityscapes``, or a FileNotFoundError saying what to link."""
    root = osp.join(data_root, 'cityscapes')
    if not osp.isdir(osp.join(root, 'leftImg8bit')):
        raise FileNotFoundError(
            f'Cityscapes data not found at {root} (expected leftImg8bit/ '
            'and gtFine/; link the sample with `bash tools/link_data.sh '
            '../shared/data`)')
    return root


def train_test_submit(config: str, test_config: str, train_opts: List[str],
                      root: str, work: str, iters: int) -> dict:
    """The Cityscapes cycle every Cityscapes stage runs, through mim.

    ``mim train mmseg config`` with ``train_opts``, ``mim test mmseg_ext``
    (IoUMetric on the sample's val images), then ``mim test mmseg_ext
    test_config --format-only`` writing the server submission.

    Returns:
        dict: ``train_dir``, ``checkpoint``, the logged ``loss_first`` /
        ``loss_last``, ``mIoU_val`` and ``submission_pngs``.
    """
    train_dir = osp.join(work, 'train')
    ckpt = osp.join(train_dir, f'iter_{iters}.pth')
    run([
        MIM, 'train', 'mmseg', config, '--work-dir', train_dir,
        '--cfg-options', *train_opts
    ])
    test_opts = short_test_options(root)
    run([
        MIM, 'test', 'mmseg_ext', config, '--checkpoint', ckpt, '--work-dir',
        osp.join(work, 'test'), '--cfg-options', *test_opts
    ])
    submission = osp.join(work, 'submission')
    run([
        MIM, 'test', 'mmseg_ext', test_config, '--checkpoint', ckpt,
        '--format-only', '--out', submission, '--work-dir',
        osp.join(work, 'format'), '--cfg-options', *test_opts
    ])
    losses = read_losses(train_dir)
    return dict(
        train_dir=train_dir,
        checkpoint=ckpt,
        loss_first=losses[0],
        loss_last=losses[-1],
        mIoU_val=read_metric(osp.join(work, 'test'), 'mIoU'),
        submission_pngs=len(
            [f for f in os.listdir(submission) if f.endswith('.png')]))


def run_job(work: str,
            data_root: str,
            iters: int = ITERS,
            height: int = 512,
            width: int = 1024,
            fps_iters: int = 5) -> dict:
    """Run the SFNet stage under ``work``; return its measured figures."""
    root = cityscapes_root(data_root)
    cycle = train_test_submit(R18, R18_TEST, short_train_options(root, iters),
                              root, work, iters)
    # cityscapesscripts' evaluator on the same checkpoint
    run([
        MIM, 'test', 'mmseg_ext', R18, '--checkpoint', cycle['checkpoint'],
        '--work-dir',
        osp.join(work, 'test_cityscapes'), '--cfg-options',
        *short_test_options(root), 'test_evaluator.type=CityscapesEvalMetric',
        f'test_evaluator.output_dir={osp.join(work, "cs_eval")}'
    ])
    fps = fps_table([R18, R50], osp.join(work, 'fps.md'), height, width,
                    fps_iters)
    return dict(
        train_iters=iters,
        loss_first=cycle['loss_first'],
        loss_last=cycle['loss_last'],
        mIoU_val=cycle['mIoU_val'],
        cityscapes_average_score=read_metric(
            osp.join(work, 'test_cityscapes'), 'averageScoreCategories'),
        submission_pngs=cycle['submission_pngs'],
        checkpoint=cycle['checkpoint'],
        fps_table=fps)
