"""The colour jitter of the official SFNet/PFNet training (``--color_aug``)."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageEnhance


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, in random order.

    Reproduces ``transforms/transforms.py:ColorJitter`` of lxtGH/SFSegNets
    (torchvision's rule, on the PIL RGB image): factors drawn uniformly from
    ``[max(0, 1 - b), 1 + b]`` (brightness, contrast, saturation; PIL
    ``ImageEnhance.Brightness``/``Contrast``/``Color``) and a hue shift from
    ``[-h, h]`` (HSV, H channel shifted by ``uint8(hue * 255)`` with
    wrap-around), the enabled ones applied in a random order. The official
    script passes ``--color_aug 0.25`` for all four. mmseg's
    ``PhotoMetricDistortion`` uses other ranges and formulas, hence this
    transform. Draws from ``np.random`` like mmseg's transforms.

    Required keys: ``img`` (uint8 (H, W, 3), BGR as mmseg loads it).
    Modified keys: ``img``.

    Args:
        brightness, contrast, saturation (float): Jitter strengths >= 0.
        hue (float): Hue jitter in [0, 0.5].

    Raises:
        ValueError: For a negative strength or ``hue`` > 0.5.
    """

    def __init__(self,
                 brightness: float = 0.,
                 contrast: float = 0.,
                 saturation: float = 0.,
                 hue: float = 0.):
        for name, value in dict(
                brightness=brightness,
                contrast=contrast,
                saturation=saturation,
                hue=hue).items():
            if value < 0:
                raise ValueError(f'ColorJitter {name} must be >= 0, got '
                                 f'{value}')
        if hue > 0.5:
            raise ValueError(f'ColorJitter hue must be <= 0.5, got {hue}')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue

    @staticmethod
    def _hue(img: Image.Image, factor: float) -> Image.Image:
        h, s, v = img.convert('HSV').split()
        # uint8 cast of the official code: truncation, then wrap-around
        shift = int(factor * 255) % 256
        h = Image.fromarray(
            ((np.asarray(h, dtype=np.int64) + shift) % 256).astype(np.uint8),
            'L')
        return Image.merge('HSV', (h, s, v)).convert('RGB')

    def transform(self, results: Dict) -> Dict:
        ops = []
        for value, enhance in ((self.brightness, ImageEnhance.Brightness),
                               (self.contrast, ImageEnhance.Contrast),
                               (self.saturation, ImageEnhance.Color)):
            if value > 0:
                f = np.random.uniform(max(0, 1 - value), 1 + value)
                ops.append(lambda im, e=enhance, f=f: e(im).enhance(f))
        if self.hue > 0:
            f = np.random.uniform(-self.hue, self.hue)
            ops.append(lambda im, f=f: self._hue(im, f))
        if not ops:
            return results
        img = Image.fromarray(results['img'][..., ::-1].copy())
        for i in np.random.permutation(len(ops)):
            img = ops[i](img)
        results['img'] = np.ascontiguousarray(np.asarray(img)[..., ::-1])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue})')
