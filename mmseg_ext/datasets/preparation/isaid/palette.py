"""The iSAID colour palette: RGB colour masks -> class ids 0-15."""
from functools import lru_cache
from typing import Sequence, Tuple

import numpy as np
from mmseg.datasets import iSAIDDataset

# id -> RGB colour; mmseg's copy of the official devkit palette
PALETTE: Tuple[Tuple[int, int, int], ...] = tuple(
    tuple(c) for c in iSAIDDataset.METAINFO['palette'])
CLASSES: Tuple[str, ...] = tuple(iSAIDDataset.METAINFO['classes'])
_UNKNOWN = 255  # lookup value of colours outside the palette (no class id)


@lru_cache(maxsize=4)
def _colour_lut(palette: Tuple[Tuple[int, int, int], ...]) -> np.ndarray:
    """(2**24,) uint8 table: 24-bit colour code -> class id (255 unknown)."""
    lut = np.full(1 << 24, _UNKNOWN, dtype=np.uint8)
    for class_id, (r, g, b) in enumerate(palette):
        lut[(r << 16) | (g << 8) | b] = class_id
    return lut


def rgb_to_ids(rgb: np.ndarray,
               palette: Sequence[Sequence[int]] = PALETTE,
               source: str = '<array>') -> np.ndarray:
    """Convert an iSAID RGB colour mask to class ids with the palette.

    Each pixel's colour is packed into a 24-bit code and looked up in a
    table (vectorised, one pass). Reproduces ``mask_mapping`` of
    ``tools/convert_iSAID_mask2graymask.py`` (lxtGH/PFSegNets; written there
    in BGR for ``cv2.imread``), except that a colour outside the palette is
    an error here instead of background.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 mask in **RGB** order.
        palette (Sequence): Colour of each class id, RGB. Default: the 16
            official colours (background (0, 0, 0) = 0 ... harbor
            (0, 100, 155) = 15).
        source (str): Name used in error messages (the file).

    Returns:
        np.ndarray: (H, W) uint8 class ids.

    Raises:
        ValueError: If ``rgb`` is not (H, W, 3) uint8, or holds colours
            outside the palette: the message names ``source``, each unknown
            colour (up to 10) with its pixel count, and the first pixel.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f'{source}: expected an (H, W, 3) uint8 RGB mask, '
                         f'got shape {rgb.shape} dtype {rgb.dtype}')
    palette = tuple(tuple(int(v) for v in c) for c in palette)
    code = ((rgb[..., 0].astype(np.uint32) << 16)
            | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2])
    ids = _colour_lut(palette)[code]
    unknown = ids == _UNKNOWN
    if unknown.any():
        codes, counts = np.unique(code[unknown], return_counts=True)
        order = np.argsort(-counts, kind='stable')[:10]
        listed = ', '.join(
            f'{(int(c) >> 16, (int(c) >> 8) & 255, int(c) & 255)} x {n} px'
            for c, n in zip(codes[order], counts[order]))
        more = f' and {len(codes) - 10} more' if len(codes) > 10 else ''
        rows, cols = np.nonzero(unknown)
        raise ValueError(
            f'{source}: {int(unknown.sum())} pixel(s) have colours outside '
            f'the iSAID palette (RGB): {listed}{more}; first at (row '
            f'{rows[0]}, col {cols[0]}). Known colours: '
            f'{dict(zip(CLASSES, palette))}')
    return ids
