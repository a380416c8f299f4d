"""Flow warp: resample a feature map along a learned 2-D offset field.

The official eager arithmetic only: :func:`grid_axis` is a module attribute
that the ONNX export swaps for its form while exporting
(:mod:`mmseg_ext.deploy.rewrites`).
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def flow_warp(feature: Tensor, flow: Tensor, size: Sequence[int]) -> Tensor:
    """Warp ``feature`` onto an ``size`` grid displaced by ``flow``.

    Reproduces ``AlignedModule.flow_warp`` of the official SFNet code
    (lxtGH/SFSegNets ``network/nn/operators.py``; paper arXiv 2002.10120,
    Sec. 3.2 "Flow Alignment Module"):

    * the base grid is ``linspace(-1, 1)`` over the *output* size, sampled with
      ``grid_sample(align_corners=True)``, so a zero flow is exactly
      ``resize(feature, size, mode='bilinear', align_corners=True)``;
    * the flow is divided by ``(out_w, out_h)`` before it is added to the grid.
      With ``align_corners=True`` one output pixel spans ``2 / (out - 1)`` in
      grid units, so one flow unit moves the sampling point by
      ``(out - 1) / (2 * out)`` output pixels, about half a pixel;
    * samples outside the feature read zeros (``padding_mode='zeros'``).

    (The unmerged mmseg port builds its grid from twice the *input* size and
    uses ``align_corners=False``; we follow the official code.)

    Args:
        feature (Tensor): Map to warp, shape (N, C, H_in, W_in).
        flow (Tensor): Offsets, shape (N, 2, H_out, W_out); channel 0 moves
            along x (width), channel 1 along y (height), in the units above.
        size (Sequence[int]): Output size ``(H_out, W_out)``.

    Returns:
        Tensor: Warped map, shape (N, C, H_out, W_out), dtype of ``feature``.

    Raises:
        ValueError: If ``flow`` is not (N, 2, H_out, W_out) for ``feature``'s
            batch size and ``size``.
    """
    out_h, out_w = size[0], size[1]
    n = feature.shape[0]
    if flow.dim() != 4 or tuple(flow.shape) != (n, 2, out_h, out_w):
        raise ValueError(f'flow must have shape (N, 2, H_out, W_out) = '
                         f'{(n, 2, out_h, out_w)}, got {tuple(flow.shape)}')
    grid = base_grid(out_h, out_w, feature)
    # official: torch.tensor([[[[out_w, out_h]]]]).type_as(input)
    norm = torch.tensor([out_w, out_h],
                        dtype=feature.dtype,
                        device=feature.device)
    grid = grid + flow.permute(0, 2, 3, 1).to(feature.dtype) / norm
    return F.grid_sample(
        feature,
        grid,
        mode='bilinear',
        padding_mode='zeros',
        align_corners=True)


def base_grid(out_h: int, out_w: int, like: Tensor) -> Tensor:
    """Identity sampling grid of shape (1, H_out, W_out, 2) in [-1, 1].

    The last axis is ``(x, y)`` as ``grid_sample`` expects, each from
    :func:`grid_axis`; built on ``like``'s device and dtype.
    """
    ys = grid_axis(out_h, like)
    xs = grid_axis(out_w, like)
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack((gx, gy), dim=-1).unsqueeze(0)


def grid_axis(steps: int, like: Tensor) -> Tensor:
    """Official ``linspace(-1, 1, steps)``, on ``like``'s device and dtype.

    Args:
        steps (int): Number of points (the output height or width).
        like (Tensor): Gives the device and dtype.

    Returns:
        Tensor: Shape (steps, ).
    """
    return torch.linspace(
        -1.0, 1.0, steps, dtype=like.dtype, device=like.device)
