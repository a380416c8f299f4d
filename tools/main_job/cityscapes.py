"""The Cityscapes sample's short-run options (SFNet, PointRend, GloRe/GINet
stages: their configs use mmseg's ``_base_/datasets/cityscapes.py``).

The sample's images are 256x128 and only ``val`` exists, so training reads
``val``; the published 2048x1024 resize and 512x1024 crop are scaled down by
4 (crop 128x256), batch 2 (the PPM's 1x1 pooled BN needs more than one value
per channel), no worker processes.
"""
from typing import List, Tuple

from mmengine.config import Config

from .options import (sample_root, short_run_options, short_test_run_options,
                      size, transform_option)

CROP = (128, 256)


def cityscapes_root(data_root: str) -> str:
    """``<data_root>/cityscapes``, checked by :func:`~.options.sample_root`
    (FileNotFoundError without ``leftImg8bit/``)."""
    return sample_root(data_root, 'cityscapes', 'leftImg8bit')


def cityscapes_train_options(cfg: Config,
                             data_root: str,
                             iters: int,
                             crop: Tuple[int, int] = CROP) -> List[str]:
    """``--cfg-options`` turning a published Cityscapes config ``cfg`` into
    a CPU smoke run on ``data_root`` (see the module docstring); ``crop`` is
    (h, w), the resize 4x its (w, h), the validation resize 2x."""
    h, w = crop
    train, val = 'train_dataloader.dataset.pipeline', \
        'val_dataloader.dataset.pipeline'
    return short_run_options(data_root, iters) + [
        'train_dataloader.dataset.data_prefix.img_path=leftImg8bit/val',
        'train_dataloader.dataset.data_prefix.seg_map_path=gtFine/val',
        transform_option(cfg, train, 'RandomResize', 'scale', size(
            4 * w, 4 * h)),
        transform_option(cfg, train, 'RandomCrop', 'crop_size', size(h, w)),
        f'model.data_preprocessor.size={size(h, w)}',
        transform_option(cfg, val, 'Resize', 'scale', size(2 * w, 2 * h)),
        'train_dataloader.batch_size=2',
    ]


def cityscapes_test_options(cfg: Config,
                            data_root: str,
                            crop: Tuple[int, int] = CROP) -> List[str]:
    """``--cfg-options`` for testing ``cfg`` (a published or a
    ``*_cityscapes-test.py`` config) on the sample's val images, resized 2x
    the crop's (w, h)."""
    h, w = crop
    return short_test_run_options(data_root) + [
        'test_dataloader.dataset.data_prefix.img_path=leftImg8bit/val',
        transform_option(cfg, 'test_dataloader.dataset.pipeline', 'Resize',
                         'scale', size(2 * w, 2 * h)),
    ]
