"""Export forms of our models' size arithmetic, active only while exporting.

:mod:`mmseg_ext.models` computes as the official code does. A few of its
small module-level functions cannot be exported as written, or export to a
graph that a runtime evaluates differently from eager PyTorch. Their export
forms live here, registered with :func:`rewrite`, and :func:`model_rewrites`
(entered by :func:`~mmseg_ext.deploy.patches.export_patches`, the context
of :func:`~mmseg_ext.deploy.export.export_onnx`) swaps them in as the
module attributes the model code looks up at call time, in the manner of
mmdeploy's ``FUNCTION_REWRITER``. Inside the context a swapped function
takes its export form only while ``torch.export`` traces
(:func:`~mmseg_ext.deploy.exporting.is_exporting`); an eager call there
still computes the official bits.

In eager PyTorch every export form gives the eager function's values bit
for bit, except :func:`grid_axis` (equal up to float rounding).

The forms, and why (the versions are those the export was built and
measured with: torch 2.13, onnxscript 0.7.2, OpenVINO 2026.4.1):

* ``point_flow_ops.grid_point_count``: ``torch.sym_min``, not ``min``.
  Under ``torch.export`` a Python ``min`` of a symbolic size becomes a
  guard and the graph keeps whichever branch the example size took
  (PointRend's 8192 points would become all points at larger sizes;
  the finding of commit 8ef1700, on the dynamic PointRend export; a
  one-function probe on torch 2.13 stays symbolic with ``min`` too).
* ``point_flow_ops.divmod_indices``: the column as ``index - row * width``.
  The ONNX translation of ``%`` (onnxscript 0.7.2
  ``aten_remainder_scalar``) calls ``int()`` on its divisor and fails when
  the width is symbolic (a dynamic export).
* ``point_flow_ops.cell_centres``: the steps ``1 / w`` and ``1 / h`` as
  float32 tensors, not Python floats. The ONNX translation of a
  tensor-times-scalar (onnxscript 0.7.2 ``aten_mul_scalar``) calls
  ``float()`` on the scalar, which failed for a symbolic size (a
  one-function probe on torch 2.13 translates the Python floats; the
  tensor form is the one the family exports were measured with).
* ``point_flow_ops.fine_flat_indices``: the stride ratio from
  :func:`float32_quotient` (OpenVINO 2026.4.1's CPU plugin divides float32
  as a multiplication by the reciprocal: ``25 / 13`` came out an ulp high
  and PFNet's dynamic export was 4.4e-2 off at 97x129), the sizes as
  float32 tensors (``aten_mul_scalar`` above), and for an integer ratio the
  index from int64 arithmetic (OpenVINO's bf16 inference precision lowers
  the float form: PFNet-R50 at 896x896 then scattered out of range).
* ``flow_warp.grid_axis``: ``arange``, not ``linspace``. ``torch.export``
  fixes a ``linspace`` length to the example's.
* ``laplacian_pyramid.match_level_size``: the nearest resize always taken
  (the identity where the sizes agree). ``torch.export`` kept the even-size
  branch of the size comparison (ONNX Runtime then failed at 97x129:
  ``Sub ... broadcast 65 by 66``).
"""
import contextlib
import functools
import importlib
from typing import Callable, Dict, Iterator, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .exporting import is_exporting

_POINT_FLOW = 'mmseg_ext.models.utils.point_flow_ops'
_FLOW_WARP = 'mmseg_ext.models.utils.flow_warp'
_LAPLACIAN = 'mmseg_ext.models.utils.laplacian_pyramid'

#: ``(module name, function name) -> export form``, filled by :func:`rewrite`.
REWRITES: Dict[Tuple[str, str], Callable] = {}


def rewrite(module: str, name: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as the export form of ``name`` in
    ``module`` (a dotted module name), for :func:`model_rewrites`."""

    def register(form: Callable) -> Callable:
        REWRITES[(module, name)] = form
        return form

    return register


def _while_exporting(form: Callable, eager: Callable) -> Callable:
    """``form`` while ``torch.export`` traces, ``eager`` otherwise."""

    @functools.wraps(eager)
    def swapped(*args, **kwargs):
        return (form if is_exporting() else eager)(*args, **kwargs)

    swapped.export_form = form
    return swapped


@contextlib.contextmanager
def model_rewrites() -> Iterator[None]:
    """Swap every registered function for its export form; restore all on
    exit (also on an error).

    Each module attribute becomes a function that calls the export form
    while ``torch.export`` traces and the eager function otherwise; it has
    ``__wrapped__`` (the eager function) and ``export_form``.

    Raises:
        AttributeError: If a registered name is not in its module.
    """
    swapped = []
    try:
        for (module_name, name), form in REWRITES.items():
            module = importlib.import_module(module_name)
            eager = getattr(module, name)
            setattr(module, name, _while_exporting(form, eager))
            swapped.append((module, name, eager))
        yield
    finally:
        for module, name, eager in reversed(swapped):
            setattr(module, name, eager)


def _float32(size, like: Tensor) -> Tensor:
    """A (possibly symbolic) size as a 0-dim float32 tensor (exact)."""
    return torch.full((), size, dtype=torch.float, device=like.device)


@rewrite(_POINT_FLOW, 'grid_point_count')
def grid_point_count(num_cells, num_points: int):
    """``torch.sym_min(num_cells, num_points)``: stays symbolic."""
    return torch.sym_min(num_cells, num_points)


@rewrite(_POINT_FLOW, 'divmod_indices')
def divmod_indices(indices: Tensor, width) -> Tuple[Tensor, Tensor]:
    """``(indices // width, indices % width)`` without ``%``.

    Bit-exact for non-negative int64 indices: the remainder is written as
    ``indices - row * width``.

    Args:
        indices (Tensor): int64 flat indices, any shape.
        width (int | SymInt): Grid width in cells.

    Returns:
        tuple[Tensor, Tensor]: (rows, cols), int64, the shape of ``indices``.
    """
    rows = torch.div(indices, width, rounding_mode='floor')
    return rows, indices - rows * width


@rewrite(_POINT_FLOW, 'cell_centres')
def cell_centres(indices: Tensor, size) -> Tensor:
    """The official cell centres with the steps as float32 tensors.

    A float32 quotient of integers below 2**24 equals the float64 one
    rounded to float32 (the value the official Python step takes in float32
    arithmetic; double rounding is innocuous for 53 >= 2 * 24 + 2 bits) and
    ``x / 2`` is exact, so the centres are the official
    ``1 / w / 2 + x * (1 / w)`` bit for bit.

    Args:
        indices (Tensor): int64 flat indices into ``h * w``, shape (N, P).
        size (tuple[int | SymInt, int | SymInt]): The grid's (h, w).

    Returns:
        Tensor: (N, P, 2) float32 centres as (x, y) in [0, 1].
    """
    h, w = size
    rows, cols = divmod_indices(indices, w)
    w_step, h_step = (1.0 / _float32(s, indices) for s in (w, h))
    coords = torch.empty(
        *indices.shape, 2, dtype=torch.float, device=indices.device)
    coords[..., 0] = w_step / 2.0 + cols.to(torch.float) * w_step
    coords[..., 1] = h_step / 2.0 + rows.to(torch.float) * h_step
    return coords


@rewrite(_POINT_FLOW, 'fine_flat_indices')
def fine_flat_indices(rows: Tensor, cols: Tensor, coarse_size,
                      fine_size) -> Tensor:
    """The official ``trunc(x * r + y * r * W)``, ``r = H / h``, exported.

    ``r`` comes from :func:`float32_quotient` (the official float32 ratio
    on runtimes whose division is not correctly rounded) and ``W`` is a
    float32 tensor; for an integer ratio the index is taken from int64
    arithmetic instead (the same value, exact for indices below 2**24,
    float32's integers), so a runtime that runs the float form in bf16
    still scatters in range. The float form stays the graph's answer for
    non-integer ratios (odd input sizes).

    Args:
        rows (Tensor): int64 coarse rows ``y``, any shape.
        cols (Tensor): int64 coarse columns ``x``, the shape of ``rows``.
        coarse_size (tuple[int | SymInt, int | SymInt]): (h, w).
        fine_size (tuple[int | SymInt, int | SymInt]): (H, W).

    Returns:
        Tensor: int64 flat indices into ``H * W``, the shape of ``rows``.
    """
    h = coarse_size[0]
    height, width = fine_size
    ratio = float32_quotient(height, h, rows)
    col_part = cols.to(torch.float) * ratio
    row_part = rows.to(torch.float) * ratio * _float32(width, rows)
    fine = (col_part + row_part).long()
    fine_h, coarse_h, fine_w = (
        torch.full((), s, dtype=torch.long, device=rows.device)
        for s in (height, h, width))
    step = torch.div(fine_h, coarse_h, rounding_mode='floor')
    exact = cols * step + rows * step * fine_w
    return torch.where(step * coarse_h == fine_h, exact, fine)


# OpenVINO 2026.4.1's CPU plugin divides float32 as a multiplication by the
# reciprocal (measured: 25 % of the quotients a / b, 1 <= a < 600,
# 1 <= b <= 300, differ by an ulp from IEEE division; 209715200 // 13 gave
# 16131939). Multiplication, addition and small integers are exact there.
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
    (OpenVINO 2026.4.1's CPU plugin) still gets the official ratio bit for
    bit: the 24-bit quotient ``floor(num * 2**(23 - e) / den)`` (``e`` the
    exponent of ``num / den``) from two integer divisions, each corrected by
    its remainder, then rounded half to even and scaled by a power of two.

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


@rewrite(_FLOW_WARP, 'grid_axis')
def grid_axis(steps, like: Tensor) -> Tensor:
    """``linspace(-1, 1, steps)`` from ``arange`` (equal up to rounding).

    Args:
        steps (int | SymInt): Number of points.
        like (Tensor): Gives the device and dtype.

    Returns:
        Tensor: Shape (steps, ).
    """
    index = torch.arange(steps, dtype=like.dtype, device=like.device)
    return index / torch.sym_max(steps - 1, 1) * 2.0 - 1.0


@rewrite(_LAPLACIAN, 'match_level_size')
def match_level_size(up: Tensor, level: Tensor) -> Tensor:
    """The official odd-size fallback, nearest resize to ``level``'s
    (N, C, H, W) size, always taken: one graph for odd and even sizes."""
    return F.interpolate(up, size=level.shape[2:])
