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
4. FPS of PointRend R50 and R101 at 512x1024, timing ``model.predict`` (see
   :func:`predict_fps_table`: ``tools/fps_test.py`` times
   ``model(x, mode='tensor')``, which mmseg 1.2.2's ``CascadeEncoderDecoder``
   does not implement for ``PointHead``, and PointRend's cost is the
   subdivision done in ``predict``).

The short-run ``--cfg-options`` are SFNet's (:mod:`jobs.sfnet`): both configs
inherit mmseg's ``_base_/datasets/cityscapes.py``, so the pipeline indices
they address are the same.
"""
import os
import os.path as osp
import statistics
import time
from typing import Sequence

from .common import MIM, REPO, read_losses, read_metric, run
from .sfnet import cityscapes_root, short_test_options, short_train_options

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
    opts = [o for o in short_train_options(data_root, iters, crop)
            if not o.startswith('param_scheduler.')]
    return opts + [
        'model.pretrained=None',
        f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={iters}',
    ]


def predict_fps_table(configs: Sequence[str], height: int, width: int,
                      warmup: int = 1, iters: int = 3) -> str:
    """Markdown table timing ``model.predict`` on ``randn(1, 3, H, W)``, CPU.

    Each config's model is built as ``tools/fps_test.py`` builds it
    (``custom_imports`` honoured, SyncBN reverted to BN, random weights, eval
    mode) and timed under ``torch.inference_mode()`` on the full inference
    path: coarse FPN head, then ``test_cfg.subdivision_steps`` PointHead
    refinements at the config's ``subdivision_num_points``, then the resize
    to the input size.
    """
    import torch
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    rows = ['| Config | Input (HxW) | Device | Params (M) | '
            'Latency mean (ms) | FPS (img/s) |',
            '|---|---|---|---|---|---|']
    for path in configs:
        cfg = Config.fromfile(osp.join(REPO, path))
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        cfg.model.pretrained = None
        model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
        x = torch.randn(1, 3, height, width)
        meta = dict(img_shape=(height, width), ori_shape=(height, width),
                    pad_shape=(height, width))
        times = []
        with torch.inference_mode():
            for i in range(warmup + iters):
                start = time.perf_counter()
                model.predict(x, [SegDataSample(metainfo=meta)])
                if i >= warmup:
                    times.append(time.perf_counter() - start)
        mean = statistics.mean(times)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        name = osp.splitext(osp.basename(path))[0]
        rows.append(f'| {name} | {height}x{width} | cpu | {params:.2f} | '
                    f'{mean * 1e3:.1f} | {1 / mean:.3f} |')
    return '\n'.join(rows) + '\n'


def run_job(work: str, data_root: str, iters: int = ITERS,
            height: int = 512, width: int = 1024, fps_iters: int = 3) -> dict:
    """Run the PointRend stage under ``work``; return its measured figures."""
    root = cityscapes_root(data_root)
    train_dir = osp.join(work, 'train')
    ckpt = osp.join(train_dir, f'iter_{iters}.pth')

    run([MIM, 'train', 'mmseg', R50, '--work-dir', train_dir,
         '--cfg-options', *pointrend_train_options(root, iters)])
    test_opts = short_test_options(root)
    run([MIM, 'test', 'mmseg_ext', R50, '--checkpoint', ckpt,
         '--work-dir', osp.join(work, 'test'), '--cfg-options', *test_opts])
    submission = osp.join(work, 'submission')
    run([MIM, 'test', 'mmseg_ext', R50_TEST, '--checkpoint', ckpt,
         '--format-only', '--out', submission,
         '--work-dir', osp.join(work, 'format'), '--cfg-options', *test_opts])
    fps_table = predict_fps_table([R50, R101], height, width,
                                  iters=fps_iters)
    with open(osp.join(work, 'fps.md'), 'w') as f:
        f.write(fps_table)

    losses = read_losses(train_dir)
    return dict(
        train_iters=iters,
        loss_first=losses[0],
        loss_last=losses[-1],
        mIoU_val=read_metric(osp.join(work, 'test'), 'mIoU'),
        submission_pngs=len(
            [f for f in os.listdir(submission) if f.endswith('.png')]),
        checkpoint=ckpt,
        fps_table=fps_table)
