"""PointRend on the real Cityscapes sample: train -> test -> submission -> FPS.

1. ``mim train mmseg configs/pointrend/<R50 config>`` for a short CPU run on
   ``<data_root>/cityscapes`` (the sample has only ``val``, so training reads
   it); mmseg's own ``CascadeEncoderDecoder`` (FPN -> FPNHead -> PointHead),
   with ``mmcv.ops.point_sample`` from the compiled mmcv;
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

The short-run ``--cfg-options`` are SFNet's (:mod:`jobs.sfnet`): both configs
inherit mmseg's ``_base_/datasets/cityscapes.py``, so the pipeline indices
they address are the same.
"""
import os.path as osp

from .common import fps_table
from .sfnet import cityscapes_root, short_train_options, train_test_submit

R50 = 'configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py'
R50_TEST = 'configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-test.py'
R101 = 'configs/pointrend/pointrend_r101_4xb4-80k_cityscapes-512x1024.py'
ITERS = 40


def pointrend_train_options(data_root: str, iters: int,
                            crop=(128, 256)) -> list:
    """SFNet's short-run options plus PointRend's schedule.

    The published schedule is two entries (1000-iteration linear warm-up, then
    poly); the short run keeps both, scaled: warm-up over the first tenth. The
    ImageNet weights (``open-mmlab://resnet50_v1c``) are not fetched: the
    sample run starts from mmseg's random init, offline.
    """
    warmup = max(1, iters // 10)
    opts = [
        o for o in short_train_options(data_root, iters, crop)
        if not o.startswith('param_scheduler.')
    ]
    return opts + [
        'model.pretrained=None',
        f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={iters}',
    ]


def run_job(work: str,
            data_root: str,
            iters: int = ITERS,
            height: int = 512,
            width: int = 1024,
            fps_iters: int = 3) -> dict:
    """Run the PointRend stage under ``work``; return its measured figures."""
    root = cityscapes_root(data_root)
    cycle = train_test_submit(R50, R50_TEST,
                              pointrend_train_options(root, iters), root, work,
                              iters)
    fps = fps_table([R50, R101], osp.join(work, 'fps.md'), height, width,
                    fps_iters, '--mode', 'predict')
    return dict(
        train_iters=iters,
        loss_first=cycle['loss_first'],
        loss_last=cycle['loss_last'],
        mIoU_val=cycle['mIoU_val'],
        submission_pngs=cycle['submission_pngs'],
        checkpoint=cycle['checkpoint'],
        fps_table=fps)
