"""PointRend on the real Cityscapes sample: train -> test -> submission -> FPS.

1. ``mim train mmseg configs/pointrend/<R50 config>`` for a short CPU run on
   ``<data_root>/cityscapes`` (:mod:`.cityscapes` options plus PointRend's
   two-entry schedule); mmseg's own ``CascadeEncoderDecoder`` (FPN ->
   FPNHead -> PointHead), with ``mmcv.ops.point_sample`` from the compiled
   mmcv;
2. ``mim test mmseg_ext <R50 config> --checkpoint CKPT`` (mIoU on val through
   IoUMetric; inference subdivides the coarse 1/4 logits twice, 8192 points a
   step);
3. ``mim test mmseg_ext <R50 cityscapes-test config> --checkpoint CKPT
   --format-only`` on the sample images (standing in for
   ``leftImg8bit/test``), writing labelIds PNGs for the Cityscapes server;
4. ``tools/fps_test.py --mode predict`` for PointRend R50 and R101 at
   512x1024: ``model.predict`` with the subdivision steps (mmseg 1.2.2's
   ``CascadeEncoderDecoder`` has no tensor mode for ``PointHead``, and
   PointRend's cost is the subdivision).
"""
import os.path as osp
from typing import List, Tuple

from mmengine.config import Config

from .cityscapes import (CROP, cityscapes_root, cityscapes_test_options,
                         cityscapes_train_options)
from .options import load_config
from .stage import FpsRun, ModelRun, Stage, first_last

R50 = 'configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py'
R50_TEST = 'configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-test.py'
R101 = 'configs/pointrend/pointrend_r101_4xb4-80k_cityscapes-512x1024.py'
ITERS = 40


def pointrend_train_options(cfg: Config,
                            data_root: str,
                            iters: int,
                            crop: Tuple[int, int] = CROP) -> List[str]:
    """The Cityscapes short-run options plus PointRend's schedule.

    The published schedule is two entries (1000-iteration linear warm-up, then
    poly); the short run keeps both, scaled: warm-up over the first tenth. The
    ImageNet weights (``open-mmlab://resnet50_v1c``) are not fetched: the
    sample run starts from mmseg's random init, offline.
    """
    warmup = max(1, iters // 10)
    opts = [
        o for o in cityscapes_train_options(cfg, data_root, iters, crop)
        if not o.startswith('param_scheduler.')
    ]
    return opts + [
        'model.pretrained=None',
        f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={iters}',
    ]


def build(repo: str, data_root: str, work: str, iters: int = ITERS) -> Stage:
    """The PointRend stage (see the module docstring)."""
    root = cityscapes_root(data_root)
    cfg, test_cfg = (load_config(osp.join(repo, c)) for c in (R50, R50_TEST))
    model = ModelRun(
        R50,
        iters,
        pointrend_train_options(cfg, root, iters),
        cityscapes_test_options(cfg, root),
        submission=(R50_TEST, cityscapes_test_options(test_cfg, root)))
    return Stage({'': model},
                 fps=FpsRun([R50, R101], 512, 1024, 3, ('--mode', 'predict')))


def figures(result: dict, iters: int = ITERS) -> dict:
    """The stage's summary: logged loss first/last, mIoU, submission PNGs,
    checkpoint and the FPS table."""
    run = result['']
    return dict(
        train_iters=iters,
        **first_last(run['losses']['loss']),
        mIoU_val=run['metrics']['mIoU'],
        submission_pngs=run['submission_pngs'],
        checkpoint=run['checkpoint'],
        fps_table=result['fps_table'])
