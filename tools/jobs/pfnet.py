"""PFNet on the real iSAID sample: prepare -> train -> test -> FPS.

1. ``tools/dataset_converters/isaid.py`` turns ``<data_root>/isaid`` (the
   official unzipped layout: P0005 train, P0003/P0004 val) into 896x896
   patches in mmseg's layout under the work dir (the source is not touched);
2. ``mim train mmseg configs/pfnet/<R50 config>`` trains from scratch for a
   short CPU run (training resize 256x256 instead of 896x896, batch 2);
3. ``mim test mmseg_ext <R50 config> --checkpoint CKPT`` evaluates on the val
   patches, whole 896x896 patches as published;
4. ``tools/fps_test.py`` times PFNet-R50 at 896x896.
"""
import os.path as osp
import sys
from typing import List

from .common import (MIM, REPO, fps_table, read_losses, read_metric, run,
                     short_run_options, short_test_run_options)

R50 = 'configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'isaid.py')
ITERS = 30


def isaid_source(data_root: str) -> str:
    """``<data_root>/isaid``, or a FileNotFoundError saying what to link."""
    src = osp.join(data_root, 'isaid')
    if not osp.isdir(osp.join(src, 'train')):
        raise FileNotFoundError(
            f'iSAID sample not found at {src} (expected train/ and val/ in the '
            'official layout; link it with `bash tools/link_data.sh '
            '../shared/data`)')
    return src


def short_train_options(data_root: str,
                        iters: int,
                        size: int = 256) -> List[str]:
    """``--cfg-options`` turning the published R50 config into a CPU run.

    The official pipeline resizes every sample to 896x896; here to
    ``size`` x ``size`` (pipeline step 2), batch 2, no worker processes.
    """
    return short_run_options(data_root, iters) + [
        f'train_dataloader.dataset.pipeline.2.scale=({size},{size})',
        f'model.data_preprocessor.size=({size},{size})',
    ]


def short_test_options(data_root: str) -> List[str]:
    """``--cfg-options`` for testing on the converted val patches."""
    return short_test_run_options(data_root)


def run_job(work: str,
            data_root: str,
            iters: int = ITERS,
            fps_iters: int = 3) -> dict:
    """Run the PFNet stage under ``work``; return its measured figures."""
    src = isaid_source(data_root)
    patches = osp.join(work, 'iSAID')
    run([sys.executable, CONVERTER, src, '-o', patches])
    train_dir = osp.join(work, 'train')
    ckpt = osp.join(train_dir, f'iter_{iters}.pth')
    run([
        MIM, 'train', 'mmseg', R50, '--work-dir', train_dir, '--cfg-options',
        *short_train_options(patches, iters)
    ])
    run([
        MIM, 'test', 'mmseg_ext', R50, '--checkpoint', ckpt, '--work-dir',
        osp.join(work, 'test'), '--cfg-options', *short_test_options(patches)
    ])
    fps = fps_table([R50], osp.join(work, 'fps.md'), 896, 896, fps_iters)

    losses = read_losses(train_dir)
    edge = [read_losses(train_dir, f'decode.loss_edge_l{i}') for i in range(3)]
    return dict(
        train_iters=iters,
        loss_first=losses[0],
        loss_last=losses[-1],
        loss_edge_first=[e[0] for e in edge],
        loss_edge_last=[e[-1] for e in edge],
        mIoU_val=read_metric(osp.join(work, 'test'), 'mIoU'),
        checkpoint=ckpt,
        fps_table=fps)
