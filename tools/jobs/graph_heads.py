"""GloRe and GINet on the real Cityscapes sample: train -> test -> FPS.

For each of the GloRe R-50 and GINet R-50 Cityscapes configs:

1. ``mim train mmseg <config>`` for a short CPU run on
   ``<data_root>/cityscapes`` (the sample has only ``val``, so training reads
   it), with the SFNet stage's shrunken pipeline (the configs use mmseg's
   Cityscapes base, so the pipeline indices are the same) and no ImageNet
   weights (``model.pretrained=None``: nothing is downloaded);
2. ``mim test mmseg_ext <config> --checkpoint CKPT`` (mIoU on val through
   IoUMetric);

then one ``tools/fps_test.py`` call times both models at 512x1024.
"""
import os.path as osp

from .common import MIM, fps_table, read_losses, read_metric, run
from .sfnet import cityscapes_root, short_test_options, short_train_options

GLORE_R50 = 'configs/glore/glore_r50-d8_4xb2-80k_cityscapes-512x1024.py'
GINET_R50 = 'configs/ginet/ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
MODELS = (('glore_r50', GLORE_R50), ('ginet_r50', GINET_R50))
ITERS = 20


def run_job(work: str,
            data_root: str,
            iters: int = ITERS,
            height: int = 512,
            width: int = 1024,
            fps_iters: int = 3) -> dict:
    """Run the GloRe/GINet stage under ``work``; return its measured figures.

    Returns:
        dict: per model ``<name>_loss_first`` / ``_loss_last`` (logged
        total loss, mmengine's 10-iteration moving mean), ``<name>_mIoU_val``
        and, for GINet, ``ginet_r50_loss_sc_first`` / ``_last``; plus
        ``train_iters`` and the Markdown ``fps_table``.
    """
    root = cityscapes_root(data_root)
    result = dict(train_iters=iters)
    for name, config in MODELS:
        train_dir = osp.join(work, name, 'train')
        ckpt = osp.join(train_dir, f'iter_{iters}.pth')
        run([
            MIM, 'train', 'mmseg', config, '--work-dir', train_dir,
            '--cfg-options', *short_train_options(root, iters),
            'model.pretrained=None'
        ])
        test_dir = osp.join(work, name, 'test')
        run([
            MIM, 'test', 'mmseg_ext', config, '--checkpoint', ckpt,
            '--work-dir', test_dir, '--cfg-options', *short_test_options(root)
        ])
        losses = read_losses(train_dir)
        result[f'{name}_loss_first'] = losses[0]
        result[f'{name}_loss_last'] = losses[-1]
        result[f'{name}_mIoU_val'] = read_metric(test_dir, 'mIoU')
        result[f'{name}_checkpoint'] = ckpt
        if name.startswith('ginet'):
            sc = read_losses(train_dir, key='decode.loss_sc')
            result[f'{name}_loss_sc_first'] = sc[0]
            result[f'{name}_loss_sc_last'] = sc[-1]
    result['fps_table'] = fps_table([GLORE_R50, GINET_R50],
                                    osp.join(work, 'fps.md'), height, width,
                                    fps_iters)
    return result
