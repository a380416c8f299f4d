"""The Gaussian blur augmentation of the official PFNet/SFNet training.

lxtGH/PFSegNets (and lxtGH/SFSegNets) ``train.py`` sets ``--gblur`` with
``action='store_true', default=True``, so every training image goes through
``transforms/transforms.py:RandomGaussianBlur``: a Gaussian blur with a
random sigma, applied to the image only, after the joint (geometric)
transforms. mmseg 1.x has no such transform for 2-D images
(``BioMedicalGaussianBlur`` works on (C, Z, Y, X) volumes).
"""
from typing import Dict, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from scipy import ndimage


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur the image with a Gaussian of random sigma, as PFNet trains.

    Reproduces ``transforms/transforms.py:RandomGaussianBlur`` of
    lxtGH/PFSegNets: ``sigma = 0.15 + U[0, 1) * 1.15`` (so sigma lies in
    [0.15, 1.30)), ``skimage.filters.gaussian(img, sigma, multichannel=True)``
    (the uint8 image times ``1 / 255`` in float64, as skimage's
    ``img_as_float`` does, then ``scipy.ndimage.gaussian_filter`` over the
    two spatial axes with ``mode='nearest'`` and ``truncate=4.0``), then
    ``(blurred * 255).astype(uint8)``: truncation, not rounding, as the
    official code does. skimage's ``gaussian`` is that scipy call, so scipy
    (an mmseg dependency) is used directly. Unlike most mmseg photometric
    transforms it has no probability: the official blur runs on every
    training image (``prob=1.0``). Channels are blurred independently, so
    BGR or RGB order does not matter.

    Required Keys:

    - img (np.ndarray): uint8 image of shape (H, W, C) or (H, W).

    Modified Keys:

    - img

    Args:
        sigma_range (Sequence[float]): (low, high) of the uniform sigma in
            pixels. Official: (0.15, 1.30). Default: (0.15, 1.30).
        prob (float): Probability of blurring an image. Official: 1.0.
            Default: 1.0.

    Raises:
        ValueError: On a bad ``sigma_range``/``prob``, or a non-uint8 image
            (the official blur assumes a uint8 PIL image).
    """

    def __init__(self,
                 sigma_range: Sequence[float] = (0.15, 1.30),
                 prob: float = 1.0) -> None:
        super().__init__()
        low, high = (float(v) for v in sigma_range)
        if not 0 < low <= high:
            raise ValueError(
                f'sigma_range must be (low, high) with 0 < low <= high, got '
                f'{sigma_range}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        self.sigma_range = (low, high)
        self.prob = prob

    def transform(self, results: Dict) -> Dict:
        if self.prob < 1 and np.random.rand() >= self.prob:
            return results
        low, high = self.sigma_range
        sigma = low + np.random.rand() * (high - low)
        results['img'] = gaussian_blur(results['img'], sigma)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sigma_range={self.sigma_range}, '
                f'prob={self.prob})')


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Blur a uint8 image exactly as the official ``RandomGaussianBlur``.

    Args:
        img (np.ndarray): uint8 image of shape (H, W, C) or (H, W).
        sigma (float): Standard deviation in pixels (both spatial axes).

    Returns:
        np.ndarray: uint8 image of the same shape.

    Raises:
        ValueError: If ``img`` is not uint8 of shape (H, W) or (H, W, C).
    """
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(
            'RandomGaussianBlur expects a uint8 (H, W[, C]) image, got '
            f'{img.dtype} {img.shape}')
    sigmas = (sigma, sigma) + (0, ) * (img.ndim - 2)  # no blur across C
    blurred = ndimage.gaussian_filter(
        img * (1.0 / 255), sigmas, mode='nearest', truncate=4.0)
    return (blurred * 255).astype(np.uint8)
