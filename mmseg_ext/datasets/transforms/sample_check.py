"""Refuse a sample whose image and label map cannot belong together.

Runs right after the loading steps of a pipeline, on the arrays as read
from disk (before any resize or crop), so the error names the files and
their own sizes. Every dataset the shipped configs use inserts it there
(:class:`~mmseg_ext.datasets.checked.SampleCheckMixin`); a custom pipeline
can list ``dict(type='CheckLoadedSample')`` after ``LoadAnnotations``.
"""
import os.path as osp
from typing import Optional, Tuple

from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image

#: The smallest image side (px) the checks accept; see :data:`MIN_SIZE_WHY`.
MIN_SIZE = 32
MIN_SIZE_WHY = ('the coarsest feature maps of the shipped models are 1/32 '
                'of the input, and mmseg\'s LoadAnnotations turns a 1-px '
                'side into a map with fewer than 2 dimensions')


def _wxh(hw: Tuple[int, ...]) -> str:
    return f'{hw[1]}x{hw[0]}'


def _file_size(path: str) -> Optional[Tuple[int, int]]:
    """(height, width) from the file header (PIL reads no pixels), or None
    when the file is not local or not readable by PIL."""
    if not osp.isfile(path):
        return None
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except OSError:
        return None


def check_loaded_sample(results: dict, min_size: int = MIN_SIZE) -> None:
    """Raise if the loaded image is too small or its label map is another
    size or not a 2-D id map.

    Args:
        results (dict): A pipeline's results after the loading steps:
            ``img_path`` and ``ori_shape`` (the image's (H, W) as read),
            and, with annotations, ``seg_map_path`` and ``gt_seg_map``
            (H, W) uint8 as read by mmseg's ``LoadAnnotations``.
        min_size (int): Smallest image height and width accepted, in px.

    Raises:
        ValueError: Naming the file(s) and the sizes (width x height, px).
    """
    img_path = results.get('img_path', '<unknown image>')
    h, w = results['ori_shape'][:2]
    if min(h, w) < min_size:
        raise ValueError(
            f'image {img_path} is {w}x{h} px (width x height); images must '
            f'be at least {min_size}x{min_size} px ({MIN_SIZE_WHY})')
    label = results.get('gt_seg_map')
    if label is None:
        return
    seg_path = results.get('seg_map_path', '<unknown label map>')
    if label.ndim != 2:
        on_disk = _file_size(seg_path)
        size = f'{_wxh(on_disk)} px' if on_disk else f'shape {label.shape}'
        raise ValueError(
            f'label map {seg_path} ({size}) is not a single-channel 2-D id '
            f'map (got an array of shape {tuple(label.shape)}) for image '
            f'{img_path} ({w}x{h} px, width x height)')
    if label.shape != (h, w):
        raise ValueError(
            f'image {img_path} is {w}x{h} px but its label map {seg_path} '
            f'is {_wxh(label.shape)} px (width x height): they must be the '
            'same size (wrong pairing or a resized file)')


@TRANSFORMS.register_module()
class CheckLoadedSample(BaseTransform):
    """Pipeline step running :func:`check_loaded_sample`.

    Place it after the last loading step (``LoadAnnotations``, or
    ``LoadImageFromFile`` without annotations); it changes nothing.

    Args:
        min_size (int): Smallest image side accepted, px. Default: 32.

    Raises:
        ValueError: See :func:`check_loaded_sample`.
    """

    def __init__(self, min_size: int = MIN_SIZE) -> None:
        self.min_size = min_size

    def transform(self, results: dict) -> dict:
        check_loaded_sample(results, self.min_size)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size})'
