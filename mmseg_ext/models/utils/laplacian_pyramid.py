"""Laplacian pyramid of an image: the shallow-branch input of ISDNet.

The official eager arithmetic only: :func:`match_level_size` is a module
attribute that the ONNX export swaps for its form while exporting
(:mod:`mmseg_ext.deploy.rewrites`).
"""
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor

# 5x5 binomial kernel (outer product of [1, 4, 6, 4, 1]) / 256
_BINOMIAL_1D = (1., 4., 6., 4., 1.)


def gauss_kernel(channels: int, device=None, dtype=None) -> Tensor:
    """Depthwise 5x5 binomial (Gaussian) kernel, normalised to sum 1.

    ``Lap_Pyramid_Conv.gauss_kernel`` of the official ISDNet
    (cedricgsh/ISDNet ``mmseg/models/decode_heads/isdhead.py``) builds this
    kernel once, on ``'cuda'``, in ``__init__``. Here it is the reference
    form of the filter :func:`conv_gauss` applies separably (the pyramid
    itself needs no kernel tensor, so it runs on CPU and any GPU and in
    half/bfloat16/float64); built on the caller's device and dtype.

    Args:
        channels (int): Number of image channels C (one filter per channel).
        device (torch.device | str | None): Device of the kernel.
        dtype (torch.dtype | None): Floating dtype of the kernel.

    Returns:
        Tensor: Shape (C, 1, 5, 5), every 5x5 slice summing to 1.
    """
    k1d = torch.tensor(_BINOMIAL_1D, device=device, dtype=torch.float64)
    k2d = torch.outer(k1d, k1d) / 256.
    return k2d.to(dtype
                  or torch.get_default_dtype()).expand(channels, 1, 5,
                                                       5).contiguous()


def conv_gauss(img: Tensor, scale: float = 1.0) -> Tensor:
    """Blur each channel with ``scale`` times the 5x5 binomial kernel.

    The official ``conv_gauss``: 2-pixel reflect padding, then a depthwise
    convolution with :func:`gauss_kernel` (``F.conv2d(..., groups=C)``).
    The kernel is separable (``outer(k, k)``, ``k = [1, 4, 6, 4, 1] / 16``),
    so it is applied here as a vertical then a horizontal pass of five
    shifted slices each: the same filter (results differ from ``conv2d`` by
    float rounding only, < 1e-6 relative), but without the 25 x H x W
    column buffer of PyTorch's CPU depthwise ``conv2d`` (about 600 MB per
    channel at 2448 x 2448) and with no kernel tensor to place on a device.

    Args:
        img (Tensor): Shape (N, C, H, W), floating, H and W >= 3 (reflect
            padding by 2 needs more than 2 pixels).
        scale (float): Factor on the kernel (4 for :func:`pyr_upsample`).
            Default: 1.

    Returns:
        Tensor: Shape (N, C, H, W), dtype and device of ``img``.
    """
    h, w = img.shape[2:]
    taps = [t / 16. for t in _BINOMIAL_1D]
    padded = F.pad(img, (2, 2, 2, 2), mode='reflect')
    rows = padded[:, :, 0:h] * (taps[0] * scale)
    for i in range(1, 5):
        rows.add_(padded[:, :, i:i + h], alpha=taps[i] * scale)
    del padded
    out = rows[..., 0:w] * taps[0]
    for j in range(1, 5):
        out.add_(rows[..., j:j + w], alpha=taps[j])
    return out


def pyr_downsample(img: Tensor) -> Tensor:
    """Keep every second row and column, starting at 0.

    Args:
        img (Tensor): Shape (N, C, H, W).

    Returns:
        Tensor: Shape (N, C, ceil(H / 2), ceil(W / 2)).
    """
    return img[:, :, ::2, ::2]


def pyr_upsample(img: Tensor) -> Tensor:
    """Zero-insertion upsampling by 2 followed by a 4x-kernel blur.

    Every input pixel lands on the even rows/columns of a zero map of twice
    the size (what the official cat/view/permute sequence builds); the blur
    with four times the kernel restores the mean brightness lost to the
    three inserted zeros per pixel.

    Args:
        img (Tensor): Shape (N, C, h, w), h and w >= 2.

    Returns:
        Tensor: Shape (N, C, 2h, 2w).
    """
    n, c, h, w = img.shape
    up = img.new_zeros((n, c, 2 * h, 2 * w))
    up[:, :, ::2, ::2] = img
    return conv_gauss(up, 4.)


def laplacian_pyramid(img: Tensor, num_high: int = 2) -> List[Tensor]:
    """High-frequency residuals of a Laplacian pyramid, finest first.

    Reproduces ``Lap_Pyramid_Conv.pyramid_decom`` of the official ISDNet
    (CVPR 2022, shallow branch input; cedricgsh/ISDNet
    ``mmseg/models/decode_heads/isdhead.py``). For each level, starting from
    ``current = img``::

        down = pyr_downsample(conv_gauss(current))
        up = pyr_upsample(down)            # nearest-resized to current's
                                           # size when that is odd
                                           # (match_level_size)
        residual = current - up
        current = down

    Args:
        img (Tensor): Image (the official code feeds the *normalised* image),
            shape (N, C, H, W), floating dtype; everything is computed on
            its device and in its dtype.
        num_high (int): Number of residual levels. Default: 2 (ISDNet).

    Returns:
        list[Tensor]: ``num_high`` tensors; level ``k`` has shape
        (N, C, H_k, W_k) with ``H_0 = H`` and ``H_{k+1} = ceil(H_k / 2)``.

    Raises:
        ValueError: If ``img`` is not a 4-D floating tensor, ``num_high < 1``
            or the image is too small for the reflect padding at the
            coarsest level (every level needs H_k, W_k >= 3).
    """
    if img.dim() != 4 or not img.is_floating_point():
        raise ValueError('laplacian_pyramid expects a floating (N, C, H, W) '
                         f'tensor, got shape {tuple(img.shape)} and dtype '
                         f'{img.dtype}')
    if num_high < 1:
        raise ValueError(f'num_high must be >= 1, got {num_high}')
    h, w = img.shape[2:]
    for level in range(num_high):
        if min(h, w) < 3:
            raise ValueError(
                f'image of size {tuple(img.shape[2:])} is too small for a '
                f'{num_high}-level Laplacian pyramid: level {level} is '
                f'{h}x{w}, the 5x5 reflect-padded blur needs >= 3x3')
        h, w = (h + 1) // 2, (w + 1) // 2
    residuals = []
    current = img
    for _ in range(num_high):
        # a contiguous copy lets the full-size blurred map go at once
        down = pyr_downsample(conv_gauss(current)).contiguous()
        up = match_level_size(pyr_upsample(down), current)
        residuals.append(current - up)
        current = down
    return residuals


def match_level_size(up: Tensor, level: Tensor) -> Tensor:
    """``up`` at ``level``'s size: the official fallback for odd sizes.

    Official ``pyramid_decom``: where the upsampled map (twice the coarser
    level's size) differs from the level's size, it is resized with
    ``F.interpolate``'s default, nearest, to that size.

    Args:
        up (Tensor): (N, C, 2 * ceil(H / 2), 2 * ceil(W / 2)).
        level (Tensor): (N, C, H, W), the level ``up`` is subtracted from.

    Returns:
        Tensor: (N, C, H, W); ``up`` itself where the sizes agree.
    """
    if up.shape[2:] != level.shape[2:]:
        up = F.interpolate(up, size=level.shape[2:])
    return up


def laplacian_residual_input(img: Tensor, num_high: int = 2) -> Tensor:
    """Residuals of :func:`laplacian_pyramid` stacked at full resolution.

    The shallow-branch input of ISDNet (``ISDHead.forward``): coarser
    residuals are resized to the finest one with bilinear interpolation,
    ``align_corners=False``, and all are concatenated along channels, finest
    first.

    Args:
        img (Tensor): Shape (N, C, H, W), see :func:`laplacian_pyramid`.
        num_high (int): Number of residual levels. Default: 2.

    Returns:
        Tensor: Shape (N, C * num_high, H, W).

    Raises:
        ValueError: As :func:`laplacian_pyramid`.
    """
    residuals = laplacian_pyramid(img, num_high)
    size = residuals[0].shape[2:]
    return torch.cat(
        [residuals[0]] + [
            F.interpolate(r, size=size, mode='bilinear', align_corners=False)
            for r in residuals[1:]
        ],
        dim=1)
