"""SFNet-R18 trained from scratch on CamVid: the main job's model.

1. ``mim train mmseg configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py``
   on ``<data_root>/camvid`` train (367 frames, 800 iterations x batch 4,
   val mIoU every 200 iterations for the curve);
2. ``mim test mmseg_ext`` of its ``iter_800.pth`` on val (101 frames at
   480x360) with ``ClassIoUMetric``: mIoU, aAcc and per-class IoU;
3. ``tools/analysis_tools/show_predictions.py``: image | ground truth |
   prediction of :data:`PICTURE_FRAMES` (``predictions.png``).

The checkpoint is the one the ``deploy`` stage exports and evaluates
through every backend. Target (issue 21): val mIoU >= 42 in <= 30 min on
2 cores.
"""
import os.path as osp
import sys

from .outputs import class_iou
from .stage import ModelRun, Stage, first_last
from .stage import run as run_command

CONFIG = 'configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py'
ITERS = 800
#: Four fixed val frames, 2 s apart in the sequence, for the pictures.
PICTURE_FRAMES = ('0016E5_07959.png', '0016E5_08009.png', '0016E5_08109.png',
                  '0016E5_08159.png')
SHOW = osp.join('tools', 'analysis_tools', 'show_predictions.py')


def camvid_root(data_root: str) -> str:
    """``<data_root>/camvid``.

    Raises:
        FileNotFoundError: If it has no ``train/`` (naming the folder and
            ``tools/link_data.sh``).
    """
    root = osp.join(data_root, 'camvid')
    if not osp.isdir(osp.join(root, 'train')):
        raise FileNotFoundError(f'{root}/train not found: link the data first '
                                '(bash tools/link_data.sh ../shared/data)')
    return root


def data_options(root: str) -> list:
    """``--cfg-options`` pointing every split at ``root``."""
    return [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ]


def checkpoint_path(work: str, iters: int = ITERS) -> str:
    """The stage's trained checkpoint under its folder ``work``."""
    return osp.join(work, 'train', f'iter_{iters}.pth')


def schedule_options(iters: int) -> list:
    """``--cfg-options`` for a run of ``iters`` iterations (the config's
    own values at :data:`ITERS`), val every quarter of the run."""
    return [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={max(1, iters // 4)}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={iters}'
    ]


def build(repo: str, data_root: str, work: str, iters: int = ITERS) -> Stage:
    """The CamVid stage (see the module docstring)."""
    root = camvid_root(data_root)
    opts = data_options(root)
    model = ModelRun(
        CONFIG,
        iters,
        opts + schedule_options(iters),
        opts + ['test_evaluator.type=ClassIoUMetric'],
    )
    pictures = osp.join(work, 'predictions.png')

    def draw() -> dict:
        seconds = run_command([
            sys.executable, SHOW, CONFIG,
            checkpoint_path(
                work, iters), '--split-names', *PICTURE_FRAMES, '--data-root',
            root, '--title', f'SFNet-R18, CamVid val, from scratch {iters} it',
            '--out', pictures
        ], repo)
        return dict(pictures=pictures, pictures_seconds=seconds)

    return Stage({'': model}, after=[draw])


def figures(result: dict) -> dict:
    """Losses, val mIoU/aAcc, per-class IoU, times, checkpoint, pictures."""
    run = result['']
    metrics = run['metrics']
    return dict(
        train_iters=int(osp.basename(run['checkpoint'])[5:-4]),
        **first_last(run['losses']['loss']),
        mIoU_val=metrics['mIoU'],
        aAcc_val=metrics['aAcc'],
        class_IoU=class_iou(metrics),
        train_minutes=round(run['train_seconds'] / 60, 1),
        test_seconds=round(run['test_seconds'], 1),
        checkpoint=run['checkpoint'],
        pictures=result['pictures'])
