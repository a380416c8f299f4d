"""SFNet on the real Cityscapes sample: train -> test -> submission -> FPS.

1. ``mim train mmseg configs/sfnet/<R18 config>`` for a short CPU run on
   ``<data_root>/cityscapes`` (:mod:`.cityscapes` options);
2. ``mim test mmseg_ext <R18 config> --checkpoint CKPT`` (mIoU on val, through
   IoUMetric) and with ``CityscapesEvalMetric`` (cityscapesscripts' evaluator);
3. ``mim test mmseg_ext <R18 cityscapes-test config> --checkpoint CKPT
   --format-only`` on the sample images (standing in for ``leftImg8bit/test``),
   writing labelIds PNGs for the Cityscapes server;
4. ``tools/fps_test.py`` for SFNet R18 and R50 at 512x1024.
"""
import os.path as osp

from .cityscapes import (cityscapes_root, cityscapes_test_options,
                         cityscapes_train_options)
from .options import load_config
from .stage import FpsRun, ModelRun, Stage, first_last

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R18_TEST = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py'
R50 = 'configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py'
ITERS = 40


def build(repo: str, data_root: str, work: str, iters: int = ITERS) -> Stage:
    """The SFNet stage (see the module docstring)."""
    root = cityscapes_root(data_root)
    cfg, test_cfg = (load_config(osp.join(repo, c)) for c in (R18, R18_TEST))
    test_opts = cityscapes_test_options(cfg, root)
    evaluator = [
        'test_evaluator.type=CityscapesEvalMetric',
        f'test_evaluator.output_dir={osp.join(work, "cs_eval")}'
    ]
    model = ModelRun(
        R18,
        iters,
        cityscapes_train_options(cfg, root, iters),
        test_opts,
        submission=(R18_TEST, cityscapes_test_options(test_cfg, root)),
        extra_tests=dict(cityscapes=test_opts + evaluator))
    return Stage({'': model}, fps=FpsRun([R18, R50], 512, 1024, 5))


def figures(result: dict, iters: int = ITERS) -> dict:
    """The stage's summary: logged loss first/last, mIoU, cityscapesscripts'
    score, submission PNGs, checkpoint and the FPS table."""
    run = result['']
    return dict(
        train_iters=iters,
        **first_last(run['losses']['loss']),
        mIoU_val=run['metrics']['mIoU'],
        cityscapes_average_score=run['extra']['cityscapes']
        ['averageScoreCategories'],
        submission_pngs=run['submission_pngs'],
        checkpoint=run['checkpoint'],
        fps_table=result['fps_table'])
