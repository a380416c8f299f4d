"""GloRe and GINet on the real Cityscapes sample: train -> test -> FPS.

For each of the GloRe R-50 and GINet R-50 Cityscapes configs:

1. ``mim train mmseg <config>`` for a short CPU run on
   ``<data_root>/cityscapes`` with the :mod:`.cityscapes` options and no
   ImageNet weights (``model.pretrained=None``: nothing is downloaded);
2. ``mim test mmseg_ext <config> --checkpoint CKPT`` (mIoU on val through
   IoUMetric);

then one ``tools/fps_test.py`` call times both models at 512x1024.
"""
import os.path as osp

from .cityscapes import (cityscapes_root, cityscapes_test_options,
                         cityscapes_train_options)
from .options import load_config
from .stage import FpsRun, ModelRun, Stage, first_last

GLORE_R50 = 'configs/glore/glore_r50-d8_4xb2-80k_cityscapes-512x1024.py'
GINET_R50 = 'configs/ginet/ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
MODELS = (('glore_r50', GLORE_R50), ('ginet_r50', GINET_R50))
ITERS = 20


def build(repo: str, data_root: str, work: str, iters: int = ITERS) -> Stage:
    """The GloRe/GINet stage (see the module docstring)."""
    root = cityscapes_root(data_root)
    runs = {}
    for name, config in MODELS:
        cfg = load_config(osp.join(repo, config))
        runs[name] = ModelRun(
            config, iters,
            cityscapes_train_options(cfg, root, iters) +
            ['model.pretrained=None'], cityscapes_test_options(cfg, root))
    return Stage(runs, fps=FpsRun([GLORE_R50, GINET_R50], 512, 1024, 3))


def figures(result: dict, iters: int = ITERS) -> dict:
    """Per model ``<name>_loss_first`` / ``_loss_last`` (logged total loss,
    mmengine's 10-iteration moving mean), ``<name>_mIoU_val``,
    ``<name>_checkpoint``; plus ``train_iters`` and the Markdown
    ``fps_table``. (The Cityscapes GINet configs train without the SC
    loss, as PaddleSeg's Cityscapes recipe.)"""
    summary = dict(train_iters=iters)
    for name, _ in MODELS:
        run = result[name]
        summary.update(first_last(run['losses']['loss'], f'{name}_loss'))
        summary[f'{name}_mIoU_val'] = run['metrics']['mIoU']
        summary[f'{name}_checkpoint'] = run['checkpoint']
    summary['fps_table'] = result['fps_table']
    return summary
