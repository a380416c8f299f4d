"""Point selection, index mapping, affinity fusion and scatter of PointFlow.

Pure functions behind :class:`~mmseg_ext.models.necks.PointFlowModule`
(PFNet, `arXiv 2103.06564 <https://arxiv.org/abs/2103.06564>`_, Sec. 3.2),
reproducing lxtGH/PFSegNets ``network/nn/point_flow.py`` (e613a59).

Conventions: a *coarse* map is (N, C, h, w) (PFNet's ``x_high``, the
top-down feature), a *fine* map is (N, C, H, W) (``x_low``, the lateral).
Flat indices count row-major over the map they index (``y * width + x``).
Normalised point coordinates are (x, y) in [0, 1] x [0, 1], the convention of
:func:`mmcv.ops.point_sample` (which samples with ``align_corners=False``).
"""
from typing import Tuple

import torch
from torch import Tensor

from .exporting import is_exporting


def topk_grid_points(score_map: Tensor,
                     num_points: int) -> Tuple[Tensor, Tensor]:
    """The ``num_points`` highest-scoring cells of a grid: indices, centres.

    Official ``get_uncertain_point_coords_on_grid``: ``torch.topk`` over the
    flattened map (ties resolve as ``torch.topk`` does), the point count is
    capped at ``h * w``, and the coordinates are the cell centres
    ``((x + 0.5) / w, (y + 0.5) / h)``.

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
    # torch.sym_min, not min: under torch.export a Python min of a symbolic
    # size becomes a guard, and the graph keeps whichever branch the
    # example size took (PointRend's 8192 points would become all points
    # at larger sizes)
    num_points = torch.sym_min(h * w, num_points)
    indices = torch.topk(score_map.view(n, h * w), k=num_points, dim=1)[1]
    coords = torch.empty(
        n, num_points, 2, dtype=torch.float, device=score_map.device)
    rows, cols = divmod_indices(indices, w)
    # 1 / w as a float32 tensor, not a Python float: the ONNX translation of
    # a tensor-times-scalar calls float() on the scalar, which fails for a
    # symbolic size. A float32 quotient of integers below 2**24 equals the
    # float64 one rounded to float32 (the value a Python scalar takes in
    # float32 arithmetic; double rounding is innocuous for 53 >= 2 * 24 + 2
    # bits) and x / 2 is exact, so the sum is the official
    # ``1 / w / 2 + x * (1 / w)`` bit for bit.
    w_step, h_step = (1.0 / _float32(s, indices) for s in (w, h))
    coords[:, :, 0] = w_step / 2.0 + cols.to(torch.float) * w_step
    coords[:, :, 1] = h_step / 2.0 + rows.to(torch.float) * h_step
    return indices, coords


def _float32(size, like: Tensor) -> Tensor:
    """A (possibly symbolic) size as a 0-dim float32 tensor (exact)."""
    return torch.full((), size, dtype=torch.float, device=like.device)


def divmod_indices(indices: Tensor, width) -> Tuple[Tensor, Tensor]:
    """Row and column of flat row-major ``indices`` on a grid ``width`` wide.

    ``(indices // width, indices % width)`` for non-negative int64 indices,
    bit-exact, with the remainder written as ``indices - row * width``: the
    ONNX translation of ``%`` (onnxscript 0.7.2 ``aten_remainder_scalar``)
    calls ``int()`` on its divisor and fails when the width is symbolic (a
    dynamic export).

    Args:
        indices (Tensor): int64 flat indices, any shape.
        width (int | SymInt): Grid width in cells.

    Returns:
        tuple[Tensor, Tensor]: (rows, cols), int64, the shape of ``indices``.
    """
    rows = torch.div(indices, width, rounding_mode='floor')
    return rows, indices - rows * width


def coarse_to_fine_indices(indices: Tensor, coarse_size: Tuple[int, int],
                           fine_size: Tuple[int, int]) -> Tensor:
    """Map flat indices on the coarse grid to flat indices on the fine grid.

    As the official module does, the stride ratio is ``r = H / h`` (heights
    only, used for both axes) and the fine index is
    ``trunc(x * r + y * r * W)`` for the coarse cell ``(x, y)``, computed in
    float32. For an integer ratio that is the **top-left** pixel of the cell's
    r x r block; for a non-integer ratio the truncation of the *sum* can land
    a few pixels right of ``(trunc(x * r), trunc(y * r))`` (kept: the
    official checkpoints were trained with it). While exporting, ``r`` comes
    from :func:`float32_quotient` (the same bits on runtimes whose division
    is not correctly rounded) and an integer ratio takes the index from
    int64 arithmetic (a runtime may run the float form in bf16); eager
    results are unchanged.

    Args:
        indices (Tensor): int64 flat indices into ``h * w``, any shape.
        coarse_size (tuple[int, int]): (h, w).
        fine_size (tuple[int, int]): (H, W).

    Returns:
        Tensor: int64 flat indices into ``H * W``, the shape of ``indices``.
    """
    h, w = coarse_size
    height, width = fine_size
    # r and W as float32 tensors, the values the Python scalars take in
    # float32 arithmetic (see topk_grid_points)
    if is_exporting():
        ratio = float32_quotient(height, h, indices)
    else:
        ratio = _float32(height, indices) / _float32(h, indices)
    rows, cols = divmod_indices(indices, w)
    col_part = cols.to(torch.float) * ratio
    row_part = rows.to(torch.float) * ratio * _float32(width, indices)
    fine = (col_part + row_part).long()
    if is_exporting():
        # A runtime may lower the float arithmetic above (OpenVINO's bf16
        # hint does: 896x896 PFNet then scattered out of range). For an
        # integer ratio the same index in int64, exact for indices below
        # 2**24 (float32's integers); the float form stays the graph's
        # answer for non-integer ratios (odd input sizes).
        fine_h, coarse_h, fine_w = (
            torch.full((), s, dtype=torch.long, device=indices.device)
            for s in (height, h, width))
        step = torch.div(fine_h, coarse_h, rounding_mode='floor')
        exact = cols * step + rows * step * fine_w
        fine = torch.where(step * coarse_h == fine_h, exact, fine)
    return fine


# OpenVINO 2026.4.1's CPU plugin divides float32 as a multiplication by the
# reciprocal (measured: 25 % of the quotients a / b, 1 <= a < 600,
# 1 <= b <= 300, differ by an ulp from IEEE division; 209715200 // 13 gave
# 16131939). Multiplication, addition and small integers are exact there.
_MANTISSA_BITS = 23
_HALF = 12  # the quotient's 24 bits come in two integer divisions of 12


def _exact_divmod(a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
    """``(a // b, a % b)`` for 0 <= a < 2**24, b >= 1, exact where the
    runtime's integer division is within 2 of the true quotient."""
    q = torch.div(a, b, rounding_mode='floor')
    for _ in range(2):
        r = a - q * b
        q = q + (r >= b).long() - (r < 0).long()
    return q, a - q * b


def float32_quotient(num, den, like: Tensor) -> Tensor:
    """``num / den`` rounded to float32 as IEEE division does, from
    integer arithmetic on values below 2**24 only.

    Used while exporting in place of a float division of two (symbolic)
    sizes, so that a runtime whose division is not correctly rounded
    (OpenVINO's CPU plugin) still gets the official ratio bit for bit: the
    24-bit quotient ``floor(num * 2**(23 - e) / den)`` (``e`` the exponent
    of ``num / den``) from two integer divisions, each corrected by its
    remainder, then rounded half to even and scaled by a power of two.

    Args:
        num (int | SymInt): Numerator, ``den <= num < den * 2**12``.
        den (int | SymInt): Denominator, ``1 <= den < 2**12``.
        like (Tensor): Gives the device.

    Returns:
        Tensor: 0-dim float32, equal to ``float32(num) / float32(den)``.
    """

    def full(value):
        return torch.full((), value, dtype=torch.long, device=like.device)

    num, den = full(num), full(den)
    # shift = 2**(11 - e), e = floor(log2(num / den)) in 0 .. 11: each
    # num >= den * 2**j (j <= e) takes 2**(11 - j) off 2**11
    shift = torch.full_like(num, 2**(_HALF - 1))
    for j in range(1, _HALF):
        shift = shift - (num >= den * 2**j).long() * 2**(_HALF - 1 - j)
    # num * 2**(23 - e) / den = (num * shift) * 2**12 / den, in two halves
    high, rem = _exact_divmod(num * shift, den)
    low, rem = _exact_divmod(rem * 2**_HALF, den)
    quotient = high * 2**_HALF + low
    odd = quotient - torch.div(quotient, 2, rounding_mode='floor') * 2
    up = (rem * 2 > den) | ((rem * 2 == den) & (odd == 1))
    mantissa = (quotient + up.long()).to(torch.float)
    # / 2**(23 - e): a power of two, exact in any division
    return mantissa / (shift * 2**_HALF).to(torch.float)


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
