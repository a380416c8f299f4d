"""Window placement and blending weights of the large-image inferencer.

The placement is mmseg 1.2.2's ``EncoderDecoder.slide_inference``
(``mmseg/models/segmentors/encoder_decoder.py``): along each axis,
``grids = max(size - crop + stride - 1, 0) // stride + 1`` windows; window
``i`` ends at ``min(i * stride + crop, size)`` and starts ``crop`` before
its end (at 0 at the least). Every window but the ones of an image smaller
than the crop is ``crop`` long; the last one ends at the image border. The
windows of a scene form a grid: every tile row has the same columns.

Blending weights (``blend``):

* ``'uniform'``: every tile counts 1; the blended logit is the sum over the
  tiles covering a pixel divided by their number (mmseg's ``preds /
  count_mat``).
* ``'distance'``: tile pixels weigh ``wy(i) * wx(j)`` with the tent
  ``w(i) = min(i, L - 1 - i) + 1`` of the distance (px) to the tile's
  nearest edge along each axis, so a pixel near a seam takes most of its
  value from the tile whose centre is closer. The weight is separable,
  hence the normaliser of a grid of tiles is ``Wy(y) * Wx(x)`` with ``Wy``
  the sum of the row tents covering ``y`` (no weight map is stored).
"""
from typing import List, Sequence, Tuple

import numpy as np

Span = Tuple[int, int]
BLENDS = ('uniform', 'distance')


def axis_windows(size: int, crop: int, stride: int) -> List[Span]:
    """Window ``(start, end)`` pixel spans along one axis, mmseg's placement.

    Args:
        size (int): Image side (px).
        crop (int): Window side (px).
        stride (int): Step between window starts (px).

    Returns:
        list[tuple[int, int]]: Spans in order; starts and ends never
        decrease.

    Raises:
        ValueError: If a value is not positive.
    """
    if min(size, crop, stride) < 1:
        raise ValueError(f'size, crop and stride must be positive, got '
                         f'{size}, {crop}, {stride}')
    grids = max(size - crop + stride - 1, 0) // stride + 1
    spans = []
    for i in range(grids):
        end = min(i * stride + crop, size)
        spans.append((max(end - crop, 0), end))
    return spans


def tile_grid(height: int, width: int, crop: Sequence[int],
              stride: Sequence[int]) -> Tuple[List[Span], List[Span]]:
    """Row spans (y) and column spans (x) of the tile grid of an image.

    Args:
        height (int): Image height (px).
        width (int): Image width (px).
        crop (sequence[int]): Tile (h, w), mmseg's ``test_cfg.crop_size``.
        stride (sequence[int]): (h, w) step, ``test_cfg.stride``.

    Returns:
        tuple: ``(rows, cols)``; tile ``(r, c)`` covers
        ``[rows[r][0]:rows[r][1], cols[c][0]:cols[c][1]]``.
    """
    return (axis_windows(height, crop[0],
                         stride[0]), axis_windows(width, crop[1], stride[1]))


def tent(length: int) -> np.ndarray:
    """``min(i, length - 1 - i) + 1`` for ``i < length``: (length,) float32,
    the 1-D distance-to-edge weight."""
    i = np.arange(length)
    return (np.minimum(i, length - 1 - i) + 1).astype(np.float32)


def axis_weight(spans: Sequence[Span], blend: str) -> List[np.ndarray]:
    """The 1-D weight of each span (``'uniform'``: ones)."""
    if blend not in BLENDS:
        raise ValueError(f'blend must be one of {BLENDS}, got {blend!r}')
    if blend == 'uniform':
        return [np.ones(e - s, np.float32) for s, e in spans]
    return [tent(e - s) for s, e in spans]


def axis_normaliser(size: int, spans: Sequence[Span],
                    weights: Sequence[np.ndarray]) -> np.ndarray:
    """Sum of the span weights at each pixel: (size,) float32 (for
    ``'uniform'``, the number of windows covering it: mmseg's count)."""
    total = np.zeros(size, np.float32)
    for (start, end), weight in zip(spans, weights):
        total[start:end] += weight
    return total
