"""Adaptive pooling written with ops every ONNX exporter can express.

``F.adaptive_avg_pool2d`` with an output size that does not divide the
input (SFNet's and PSPNet's PPM bins 3 and 6) has no ONNX form in the
TorchScript exporter, and the dynamo exporter's decomposition fixes the
window positions to the example's size; ``F.adaptive_max_pool2d`` (PFNet's
PointFlow salient points, 14x14) has no ONNX form in either. Both are
rebuilt here from PyTorch's window definition (``aten/src/ATen/native/
AdaptivePooling.h``): output cell ``i`` of ``o`` over an input of length
``L`` reads ``[floor(i * L / o), ceil((i + 1) * L / o))``. The windows are
computed from the input's size, so they follow a symbolic size.

These are used only while exporting (:func:`~.patches.export_patches`);
eager PyTorch keeps its own kernels.
"""
from typing import Tuple, Union

import torch
from torch import Tensor

Size = Union[int, Tuple[int, int]]


def _pair(output_size: Size) -> Tuple[int, int]:
    if isinstance(output_size, int):
        return output_size, output_size
    return tuple(output_size)


def window_mask(length, bins: int, like: Tensor) -> Tensor:
    """(bins, length) bool: row ``i`` marks PyTorch's adaptive window ``i``.

    Args:
        length (int | SymInt): Input length L.
        bins (int): Output length o.
        like (Tensor): Gives the device.
    """
    pos = torch.arange(length, device=like.device)
    cell = torch.arange(bins, device=like.device)
    # the end ceil((i + 1) * L / o) as the floor division of a non-negative
    # number: with the negative form -(-(i + 1) * L // o), OpenVINO
    # 2026.4.1's CPU plugin gave PFNet's max-pool windows on a 7x9 map a
    # cell too wide (its 97x129 dynamic export; measured in that graph
    # only, a small graph of the same ops came out right)
    start = torch.div(cell * length, bins, rounding_mode='floor')
    end = torch.div(
        (cell + 1) * length + bins - 1, bins, rounding_mode='floor')
    return (pos[None] >= start[:, None]) & (pos[None] < end[:, None])


def adaptive_avg_pool2d(x: Tensor, output_size: Size) -> Tensor:
    """Same as ``F.adaptive_avg_pool2d(x, output_size)`` up to float
    rounding (a window mean as two averaging matmuls).

    Args:
        x (Tensor): (N, C, H, W).
        output_size (int | tuple[int, int]): (h, w); ``None`` entries are
            not supported.

    Returns:
        Tensor: (N, C, h, w).
    """
    out_h, out_w = _pair(output_size)
    rows = window_mask(x.shape[2], out_h, x).to(x.dtype)
    cols = window_mask(x.shape[3], out_w, x).to(x.dtype)
    rows = rows / rows.sum(1, keepdim=True)
    cols = cols / cols.sum(1, keepdim=True)
    return torch.matmul(torch.matmul(rows, x), cols.transpose(0, 1))


def adaptive_max_pool2d(x: Tensor,
                        output_size: Size,
                        return_indices: bool = False):
    """Same as ``F.adaptive_max_pool2d`` (values exact; indices into the
    flattened H x W plane, first maximum in row-major order as PyTorch).

    Every output cell takes the max over the whole plane with the cells
    outside its window set to -inf, so memory is N x C x h x w x H x W:
    meant for the single-channel certainty map of PointFlow.

    Args:
        x (Tensor): (N, C, H, W).
        output_size (int | tuple[int, int]): (h, w).
        return_indices (bool): Also return the (N, C, h, w) int64 indices.
    """
    out_h, out_w = _pair(output_size)
    n, c, height, width = x.shape
    rows = window_mask(height, out_h, x)
    cols = window_mask(width, out_w, x)
    mask = (rows[:, None, :, None] & cols[None, :, None, :]).reshape(
        out_h * out_w, height * width)
    flat = x.reshape(n, c, 1, height * width)
    masked = torch.where(mask, flat, torch.full_like(flat, -float('inf')))
    values, indices = masked.max(dim=3)
    values = values.reshape(n, c, out_h, out_w)
    if return_indices:
        return values, indices.reshape(n, c, out_h, out_w)
    return values
