"""Point selection, index mapping, affinity fusion and scatter of PointFlow.

Pure functions behind :class:`~mmseg_ext.models.necks.PointFlowModule`
(PFNet, `arXiv 2103.06564 <https://arxiv.org/abs/2103.06564>`_, Sec. 3.2),
reproducing lxtGH/PFSegNets ``network/nn/point_flow.py`` (e613a59).

Conventions: a *coarse* map is (N, C, h, w) (PFNet's ``x_high``, the
top-down feature), a *fine* map is (N, C, H, W) (``x_low``, the lateral).
Flat indices count row-major over the map they index (``y * width + x``).
Normalised point coordinates are (x, y) in [0, 1] x [0, 1], the convention of
:func:`mmcv.ops.point_sample` (which samples with ``align_corners=False``).

This is the official eager arithmetic only. The size arithmetic is split
into small functions (:func:`grid_point_count`, :func:`cell_centres`,
:func:`divmod_indices`, :func:`fine_flat_indices`) that the others call as
module attributes, so that the ONNX export can swap in its forms of them
(:mod:`mmseg_ext.deploy.rewrites`, only while exporting).
"""
from typing import Tuple

import torch
from torch import Tensor


def topk_grid_points(score_map: Tensor,
                     num_points: int) -> Tuple[Tensor, Tensor]:
    """The ``num_points`` highest-scoring cells of a grid: indices, centres.

    Official ``get_uncertain_point_coords_on_grid``: ``torch.topk`` over the
    flattened map (ties resolve as ``torch.topk`` does), the point count is
    capped at ``h * w`` (:func:`grid_point_count`), and the coordinates are
    the cell centres ``((x + 0.5) / w, (y + 0.5) / h)``
    (:func:`cell_centres`).

    Args:
        score_map (Tensor): (N, 1, h, w) scores (PFNet: edge logits).
        num_points (int): Points to select, P = min(num_points, h * w).

    Returns:
        tuple[Tensor, Tensor]: flat indices (N, P) into ``h * w`` (int64) and
        their normalised centres (N, P, 2) as (x, y), float32.

    Raises:
        ValueError: If ``score_map`` is not (N, 1, h, w) or ``num_points < 1``.
    """
    if score_map.dim() != 4 or score_map.shape[1] != 1:
        raise ValueError('score_map must be (N, 1, h, w), got '
                         f'{tuple(score_map.shape)}')
    if num_points < 1:
        raise ValueError(f'num_points must be >= 1, got {num_points}')
    n, _, h, w = score_map.shape
    num_points = grid_point_count(h * w, num_points)
    indices = torch.topk(score_map.view(n, h * w), k=num_points, dim=1)[1]
    return indices, cell_centres(indices, (h, w))


def grid_point_count(num_cells: int, num_points: int) -> int:
    """Official ``min(num_points, h * w)``: at most one point per cell.

    Args:
        num_cells (int): Cells of the grid, ``h * w``.
        num_points (int): Points asked for.

    Returns:
        int: The number of points to select.
    """
    return min(num_cells, num_points)


def cell_centres(indices: Tensor, size: Tuple[int, int]) -> Tensor:
    """Normalised centres of the cells at flat ``indices`` of an (h, w) grid.

    Official (``get_uncertain_point_coords_on_grid``): with the Python
    steps ``w_step = 1 / w`` and ``h_step = 1 / h``, the centre of cell
    ``(x, y)`` is ``(w_step / 2 + x * w_step, h_step / 2 + y * h_step)``,
    computed in float32.

    Args:
        indices (Tensor): int64 flat indices into ``h * w``, shape (N, P).
        size (tuple[int, int]): The grid's (h, w).

    Returns:
        Tensor: (N, P, 2) float32 centres as (x, y) in [0, 1].
    """
    h, w = size
    rows, cols = divmod_indices(indices, w)
    w_step, h_step = 1.0 / w, 1.0 / h
    coords = torch.empty(
        *indices.shape, 2, dtype=torch.float, device=indices.device)
    coords[..., 0] = w_step / 2.0 + cols.to(torch.float) * w_step
    coords[..., 1] = h_step / 2.0 + rows.to(torch.float) * h_step
    return coords


def divmod_indices(indices: Tensor, width: int) -> Tuple[Tensor, Tensor]:
    """Row and column of flat row-major ``indices`` on a grid ``width`` wide.

    Args:
        indices (Tensor): int64 flat indices, any shape.
        width (int): Grid width in cells.

    Returns:
        tuple[Tensor, Tensor]: ``(indices // width, indices % width)``,
        int64, the shape of ``indices``.
    """
    return indices // width, indices % width


def coarse_to_fine_indices(indices: Tensor, coarse_size: Tuple[int, int],
                           fine_size: Tuple[int, int]) -> Tensor:
    """Map flat indices on the coarse grid to flat indices on the fine grid.

    The row and column of each index (:func:`divmod_indices`), then
    :func:`fine_flat_indices`.

    Args:
        indices (Tensor): int64 flat indices into ``h * w``, any shape.
        coarse_size (tuple[int, int]): (h, w).
        fine_size (tuple[int, int]): (H, W).

    Returns:
        Tensor: int64 flat indices into ``H * W``, the shape of ``indices``.
    """
    rows, cols = divmod_indices(indices, coarse_size[1])
    return fine_flat_indices(rows, cols, coarse_size, fine_size)


def fine_flat_indices(rows: Tensor, cols: Tensor, coarse_size: Tuple[int, int],
                      fine_size: Tuple[int, int]) -> Tensor:
    """Flat fine-grid index of the coarse cells at ``(cols, rows)``.

    As the official module does, the stride ratio is the Python float
    ``r = H / h`` (heights only, used for both axes) and the fine index is
    ``trunc(x * r + y * r * W)`` for the coarse cell ``(x, y)``, computed in
    float32. For an integer ratio that is the **top-left** pixel of the
    cell's r x r block; for a non-integer ratio the truncation of the *sum*
    can land a few pixels right of ``(trunc(x * r), trunc(y * r))`` (kept:
    the official checkpoints were trained with it).

    Args:
        rows (Tensor): int64 coarse rows ``y``, any shape.
        cols (Tensor): int64 coarse columns ``x``, the shape of ``rows``.
        coarse_size (tuple[int, int]): (h, w).
        fine_size (tuple[int, int]): (H, W).

    Returns:
        Tensor: int64 flat indices into ``H * W``, the shape of ``rows``.
    """
    height, width = fine_size
    ratio = height / coarse_size[0]
    col_part = cols.to(torch.float) * ratio
    row_part = rows.to(torch.float) * ratio * width
    return (col_part + row_part).long()


def point_affinity_fuse(coarse_points: Tensor, fine_points: Tensor) -> Tensor:
    """Fuse sampled coarse features into sampled fine features by affinity.

    Official: ``A = softmax_j(<fine_i, coarse_j>)`` over the **full** channel
    width (no reduction, no scaling), output ``fine_i + sum_j A_ij coarse_j``.

    Args:
        coarse_points (Tensor): (N, C, P) features at the points, coarse map.
        fine_points (Tensor): (N, C, P) features at the same points, fine map.

    Returns:
        Tensor: (N, C, P) fused features.
    """
    # the official operand order (bmm then transpose), kept for bit-parity
    affinity = torch.bmm(coarse_points.transpose(2, 1),
                         fine_points).transpose(2, 1)
    affinity = torch.softmax(affinity, dim=-1)
    moved = torch.bmm(affinity, coarse_points.transpose(2, 1)).transpose(2, 1)
    return moved + fine_points


def scatter_points(feat: Tensor, indices: Tensor, values: Tensor) -> Tensor:
    """A copy of ``feat`` with ``values`` written at flat ``indices``.

    Args:
        feat (Tensor): (N, C, H, W) map.
        indices (Tensor): (N, P) int64 flat indices into ``H * W`` (the same
            for every channel).
        values (Tensor): (N, C, P) values to write.

    Returns:
        Tensor: (N, C, H, W); ``feat`` itself is not modified. Where an index
        repeats, the written values are equal in PointFlow (same point), so
        which write lands does not matter.
    """
    n, c, h, w = feat.shape
    index = indices.unsqueeze(1).expand(-1, c, -1)
    # in feat's dtype: under bf16 autocast the fused values come out of a
    # bmm in bf16 while feat may be float32 (scatter needs one dtype)
    values = values.to(feat.dtype)
    return feat.reshape(n, c, h * w).scatter(2, index, values).view(n, c, h, w)
