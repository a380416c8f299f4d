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
from functools import partial
from typing import List

from mmengine.config import Config

from .options import (load_config, sample_root, short_run_options,
                      short_test_run_options, size, transform_option)
from .stage import FpsRun, ModelRun, Stage, first_last, run

R50 = 'configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
CONVERTER = osp.join('tools', 'dataset_converters', 'isaid.py')
ITERS = 30
EDGE_LOSSES = tuple(f'decode.loss_edge_l{i}' for i in range(3))


def isaid_source(data_root: str) -> str:
    """``<data_root>/isaid`` (the official unzipped layout), checked by
    :func:`~.options.sample_root` (FileNotFoundError without ``train/``)."""
    return sample_root(data_root, 'isaid', 'train')


def isaid_train_options(cfg: Config,
                        data_root: str,
                        iters: int,
                        scale: int = 256) -> List[str]:
    """``--cfg-options`` turning the published R50 config into a CPU run.

    The official pipeline resizes every sample to 896x896; here to
    ``scale`` x ``scale``, batch 2, no worker processes.
    """
    return short_run_options(data_root, iters) + [
        transform_option(cfg, 'train_dataloader.dataset.pipeline', 'Resize',
                         'scale', size(scale, scale)),
        f'model.data_preprocessor.size={size(scale, scale)}',
    ]


def isaid_test_options(cfg: Config, data_root: str) -> List[str]:
    """``--cfg-options`` for testing on the converted val patches."""
    return short_test_run_options(data_root)


def convert(repo: str, data_root: str, patches: str) -> None:
    """Run the iSAID converter on the sample into ``patches``."""
    run([sys.executable, CONVERTER,
         isaid_source(data_root), '-o', patches], repo)


def build(repo: str, data_root: str, work: str, iters: int = ITERS) -> Stage:
    """The PFNet stage (see the module docstring)."""
    isaid_source(data_root)
    patches = osp.join(work, 'iSAID')
    cfg = load_config(osp.join(repo, R50))
    model = ModelRun(
        R50,
        iters,
        isaid_train_options(cfg, patches, iters),
        isaid_test_options(cfg, patches),
        losses=EDGE_LOSSES)
    return Stage({'': model},
                 prepare=[partial(convert, repo, data_root, patches)],
                 fps=FpsRun([R50], 896, 896, 3))


def figures(result: dict, iters: int = ITERS) -> dict:
    """The stage's summary: logged loss and edge losses first/last, mIoU,
    checkpoint and the FPS table."""
    run = result['']
    edge = [run['losses'][key] for key in EDGE_LOSSES]
    return dict(
        train_iters=iters,
        **first_last(run['losses']['loss']),
        loss_edge_first=[e[0] for e in edge],
        loss_edge_last=[e[-1] for e in edge],
        mIoU_val=run['metrics']['mIoU'],
        checkpoint=run['checkpoint'],
        fps_table=result['fps_table'])
