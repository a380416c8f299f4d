"""The main job on the real Cityscapes sample: train -> test -> submission -> FPS.

Runs, through the same commands a user types:

1. ``mim train mmseg configs/sfnet/<R18 config>`` for a short CPU run on
   ``data/cityscapes`` (the sample has only ``val``, so training reads it);
2. ``mim test mmseg_ext <R18 config> --checkpoint CKPT`` (mIoU on val, through
   cityscapesscripts-free IoUMetric) and with ``CityscapesEvalMetric``
   (cityscapesscripts' evaluator);
3. ``mim test mmseg_ext <R18 cityscapes-test config> --checkpoint CKPT
   --format-only`` on the sample images (standing in for ``leftImg8bit/test``),
   writing labelIds PNGs for the Cityscapes server;
4. ``tools/fps_test.py`` for SFNet R18 and R50 at ``--height x --width``.

Usage::

    python tools/main_job.py [--data-root data/cityscapes] [--iters 40]
        [--work-dir work_dirs/main_job] [--height 512 --width 1024]

Everything it writes goes under ``--work-dir``; a summary (first/last loss,
mIoU, submission file count, FPS table) is printed at the end and saved as
``summary.json`` there.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R18_TEST = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py'
R50 = 'configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py'


def short_train_options(data_root: str, iters: int, crop=(128, 256)) -> List[str]:
    """``--cfg-options`` turning the published R18 config into a CPU smoke run.

    The sample's images are 256x128, so the published 2048x1024 resize and
    512x1024 crop are scaled down by 4; batch 2 (the PPM's 1x1 pooled BN needs
    more than one value per channel), no worker processes.
    """
    h, w = crop
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.data_prefix.img_path=leftImg8bit/val',
        'train_dataloader.dataset.data_prefix.seg_map_path=gtFine/val',
        f'train_dataloader.dataset.pipeline.2.scale=({4 * w},{4 * h})',
        f'train_dataloader.dataset.pipeline.3.crop_size=({h},{w})',
        f'model.data_preprocessor.size=({h},{w})',
        f'val_dataloader.dataset.pipeline.1.scale=({2 * w},{2 * h})',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1',
        f'param_scheduler.0.end={iters}',
    ]


def short_test_options(data_root: str, crop=(128, 256)) -> List[str]:
    """``--cfg-options`` for testing on the sample's val images."""
    h, w = crop
    return [
        f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.dataset.data_prefix.img_path=leftImg8bit/val',
        f'test_dataloader.dataset.pipeline.1.scale=({2 * w},{2 * h})',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]


def read_losses(work_dir: str) -> List[float]:
    """Logged training losses, in order, from ``vis_data/scalars.json``.

    These are mmengine's moving means over the last 10 iterations
    (``LogProcessor(window_size=10)``), as the training log shows them.
    """
    losses = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files and root.endswith('vis_data'):
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    rec = json.loads(line)
                    if 'loss' in rec and 'lr' in rec:
                        losses.append(float(rec['loss']))
    return losses


def read_metric(work_dir: str, key: str) -> float:
    """The last value of ``key`` in any ``<timestamp>.json`` test summary."""
    value = None
    for root, _, files in os.walk(work_dir):
        for name in sorted(files):
            if name.endswith('.json') and name[:8].isdigit():
                with open(osp.join(root, name)) as f:
                    rec = json.load(f)
                value = rec.get(key, value)
    if value is None:
        raise RuntimeError(f'no {key!r} in the test summaries under {work_dir}')
    return float(value)


def run(cmd: List[str]) -> None:
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'cityscapes'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'main_job'))
    parser.add_argument('--iters', type=int, default=40)
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument('--width', type=int, default=1024)
    parser.add_argument('--fps-iters', type=int, default=5)
    args = parser.parse_args(argv)

    data_root = osp.abspath(args.data_root)
    if not osp.isdir(osp.join(data_root, 'leftImg8bit')):
        raise FileNotFoundError(
            f'Cityscapes data not found at {data_root} (expected leftImg8bit/ '
            'and gtFine/; link the sample with `ln -s ../shared/data/'
            'cityscapes data/cityscapes`)')
    work = osp.abspath(args.work_dir)
    if osp.exists(work):
        shutil.rmtree(work)
    bindir = osp.dirname(sys.executable)
    mim = osp.join(bindir, 'mim')
    train_dir = osp.join(work, 'train')
    ckpt = osp.join(train_dir, f'iter_{args.iters}.pth')

    run([mim, 'train', 'mmseg', R18, '--work-dir', train_dir,
         '--cfg-options', *short_train_options(data_root, args.iters)])
    test_opts = short_test_options(data_root)
    run([mim, 'test', 'mmseg_ext', R18, '--checkpoint', ckpt,
         '--work-dir', osp.join(work, 'test'), '--cfg-options', *test_opts])
    run([mim, 'test', 'mmseg_ext', R18, '--checkpoint', ckpt,
         '--work-dir', osp.join(work, 'test_cityscapes'), '--cfg-options',
         *test_opts, 'test_evaluator.type=CityscapesEvalMetric',
         f'test_evaluator.output_dir={osp.join(work, "cs_eval")}'])
    submission = osp.join(work, 'submission')
    run([mim, 'test', 'mmseg_ext', R18_TEST, '--checkpoint', ckpt,
         '--format-only', '--out', submission,
         '--work-dir', osp.join(work, 'format'), '--cfg-options', *test_opts])
    fps_md = osp.join(work, 'fps.md')
    run([sys.executable, osp.join(REPO, 'tools', 'fps_test.py'), R18, R50,
         '--height', str(args.height), '--width', str(args.width),
         '--device', 'cpu', '--warmup', '1', '--iters', str(args.fps_iters),
         '--out', fps_md])

    losses = read_losses(train_dir)
    summary = dict(
        train_iters=args.iters,
        loss_first=losses[0],
        loss_last=losses[-1],
        mIoU_val=read_metric(osp.join(work, 'test'), 'mIoU'),
        cityscapes_average_score=read_metric(
            osp.join(work, 'test_cityscapes'), 'averageScoreCategories'),
        submission_pngs=len(
            [f for f in os.listdir(submission) if f.endswith('.png')]),
        checkpoint=ckpt)
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    with open(fps_md) as f:
        print(f.read())
    return summary


if __name__ == '__main__':
    main()
