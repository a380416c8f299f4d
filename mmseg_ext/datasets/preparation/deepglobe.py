"""DeepGlobe Land Cover -> ``DeepGlobeDataset`` layout by the FCtL/GLNet split.

The library behind ``tools/dataset_converters/deepglobe.py``.

Input: the official download (``land-train`` / Kaggle
``deepglobe-land-cover-classification-dataset``), whose ``train/`` folder holds
803 tiles ``<id>_sat.jpg`` (2448x2448 RGB) with RGB colour masks
``<id>_mask.png``. Give the download root (holding ``train/``) or the
``train/`` folder itself. The ``valid/`` and ``test/`` folders have no masks
and are not used: ISDNet, FCtL and GLNet split the 803 annotated tiles into
454 train / 207 val / 142 test.

Split lists: ``--splits-dir`` is a folder with GLNet's ``train.txt``,
``crossvali.txt`` (our ``val``) and ``test.txt`` (one ``<id>_sat.jpg`` per
line), from https://github.com/VITA-Group/GLNet (repository root); FCtL and
ISDNet use the same lists. They are not shipped here.

Output (``OUT``, default ``data/deepglobe_landcover``, the base config's
``data_root``)::

    OUT/img_dir/{train,val,test}/<id>_sat.jpg   hard link (or --copy)
    OUT/ann_dir/{train,val,test}/<id>_mask.png  uint8 class ids 0-6

Mask rule (DeepGlobe challenge, Demir et al. 2018: "the values of the mask
image may not be pure 0 and 255; when converting to labels, binarize them at
threshold 128"): each channel >= 128 counts as 255, < 128 as 0, and the
binarised colour gives the class of ``DeepGlobeDataset.METAINFO``:
unknown (0,0,0) -> 0, urban (0,255,255) -> 1, agriculture (255,255,0) -> 2,
rangeland (255,0,255) -> 3, forest (0,255,0) -> 4, water (0,0,255) -> 5,
barren (255,255,255) -> 6. The eighth binarised colour, red (255,0,0), is no
class: by default it is an error naming the file, pixel count and first
position; ``--unmatched unknown`` maps it to 0 as GLNet's
``RGB_mapping_to_class`` does with every unmatched colour, ``--unmatched
ignore`` to 255.

Outputs are written under temporary names and renamed when complete; a re-run
skips outputs that exist. Every listed tile is checked to exist before
anything is written. The download is never modified.
"""
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np

from ..deepglobe import DeepGlobeDataset
from . import split_layout
from .split_layout import (SPLITS, TileLayout, build_parser, print_summary,
                           read_uint8)

IMG_SUFFIX = '_sat.jpg'
ANN_SUFFIX = '_mask.png'
CLASSES = tuple(DeepGlobeDataset.METAINFO['classes'])
PALETTE = tuple(tuple(c) for c in DeepGlobeDataset.METAINFO['palette'])
THRESHOLD = 128
UNMATCHED = {'error': None, 'unknown': 0, 'ignore': 255}


def _code(rgb) -> int:
    """The 3-bit code R*4 + G*2 + B of a binarised colour."""
    return int(rgb[0] > 0) * 4 + int(rgb[1] > 0) * 2 + int(rgb[2] > 0)


def _check_unmatched(unmatched: str) -> None:
    if unmatched not in UNMATCHED:
        raise ValueError(f'unmatched must be one of {sorted(UNMATCHED)}, '
                         f'got {unmatched!r}')


def rgb_to_class_ids(rgb: np.ndarray,
                     threshold: int = THRESHOLD,
                     unmatched: str = 'error',
                     source: str = '<array>') -> np.ndarray:
    """Convert a DeepGlobe RGB colour mask to class ids.

    Each channel is binarised (``>= threshold`` -> on), then the binarised
    colour is looked up in the DeepGlobe palette (see the module docstring).

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 mask in RGB order.
        threshold (int): Channel values ``>= threshold`` count as 255.
            Default: 128 (the challenge's rule).
        unmatched (str): What a binarised colour outside the palette (only
            red, (255, 0, 0), is possible) becomes: ``'error'`` (default),
            ``'unknown'`` (class 0, GLNet's fallback) or ``'ignore'`` (255).
        source (str): Name used in error messages (e.g. the file path).

    Returns:
        np.ndarray: (H, W) uint8 ids in 0-6 (and 255 with ``'ignore'``).

    Raises:
        ValueError: If ``rgb`` is not (H, W, 3) uint8, ``unmatched`` is
            unknown, or (``unmatched='error'``) a pixel's binarised colour is
            no class, naming ``source``, the colour, the pixel count and the
            first (row, col).
    """
    _check_unmatched(unmatched)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f'{source}: expected an (H, W, 3) uint8 RGB mask, '
                         f'got shape {rgb.shape} dtype {rgb.dtype}')
    on = rgb >= threshold
    code = (on * np.array([4, 2, 1], np.uint8)).sum(-1, dtype=np.uint8)
    # 8 possible codes; 254 marks the one that is no class
    lut = np.full(8, 254, dtype=np.uint8)
    for class_id, colour in enumerate(PALETTE):
        lut[_code(colour)] = class_id
    ids = lut[code]
    bad = ids == 254
    if bad.any():
        if UNMATCHED[unmatched] is None:
            rows, cols = np.nonzero(bad)
            colour = tuple(255 * ((int(code[rows[0], cols[0]]) >> s) & 1)
                           for s in (2, 1, 0))
            raw = tuple(int(v) for v in rgb[rows[0], cols[0]])
            raise ValueError(
                f'{source}: {int(bad.sum())} pixel(s) binarise (>= '
                f'{threshold}) to {colour}, which is no DeepGlobe class; '
                f'first at (row {rows[0]}, col {cols[0]}) with value {raw}. '
                f'Known colours: {dict(zip(CLASSES, PALETTE))}. Use '
                "unmatched='unknown' (--unmatched unknown) to map them to "
                'class 0 as GLNet does')
        ids[bad] = UNMATCHED[unmatched]
    return ids


def read_rgb_mask(path: str) -> np.ndarray:
    """Read a colour mask as (H, W, 3) uint8 RGB (palette PNGs expanded).

    Raises:
        ValueError: If the file is not an image or not RGB/palette, naming
            the file.
    """
    return read_uint8(path, 'RGB', 'P', 'an RGB colour mask', 'the mask')


def load_mask_ids(path: str, unmatched: str = 'error') -> np.ndarray:
    """Read ``path`` and convert it with :func:`rgb_to_class_ids`."""
    return rgb_to_class_ids(
        read_rgb_mask(path), unmatched=unmatched, source=path)


class _Loader:
    """Picklable ``load_ids`` for :func:`split_layout.lay_out`."""

    def __init__(self, unmatched: str):
        self.unmatched = unmatched

    def __call__(self, path: str) -> np.ndarray:
        return load_mask_ids(path, self.unmatched)


def source_folder(src: str) -> str:
    """The folder holding ``*_sat.jpg``: ``src/train`` if present, else
    ``src``."""
    train = osp.join(src, 'train')
    return train if osp.isdir(train) else src


def _sources(folder: str, tile_id: str) -> Tuple[str, str]:
    """Image and colour mask of ``tile_id`` in the download's ``folder``."""
    stem = osp.join(folder, tile_id)
    return stem + IMG_SUFFIX, stem + ANN_SUFFIX


# dataset, list / image / annotation suffixes, folders
LAYOUT = TileLayout('DeepGlobe', IMG_SUFFIX, IMG_SUFFIX, ANN_SUFFIX,
                    source_folder, _sources)


def convert(src: str,
            splits_dir: str,
            out_dir: str,
            splits: Sequence[str] = SPLITS,
            copy: bool = False,
            nproc: int = 1,
            unmatched: str = 'error') -> dict:
    """Lay out the listed tiles under ``out_dir``; see the module docstring.

    The tiles are those of :func:`split_layout.plan_tiles` with
    :data:`LAYOUT`; masks go through :func:`load_mask_ids`.

    Returns:
        dict: ``{'written': n, 'skipped': m, 'per_split': {split: count}}``.

    Raises:
        FileNotFoundError: If ``src``, a list, or a listed tile's image or
            mask is missing (all named).
        ValueError: If ``unmatched`` is unknown, the lists are malformed or
            overlap, or a mask holds a colour that is no class
            (``unmatched='error'``).
    """
    _check_unmatched(unmatched)
    return split_layout.convert(LAYOUT, _Loader(unmatched), src, splits_dir,
                                out_dir, splits, copy, nproc)


def parse_args(argv: Optional[Sequence[str]] = None):
    """The command line of ``tools/dataset_converters/deepglobe.py``."""
    parser = build_parser(
        'Convert DeepGlobe Land Cover to the mmseg layout by the FCtL/GLNet '
        'split (RGB masks -> class ids, threshold 128)',
        src_help='download root (with train/) or its train/ folder: '
        '<id>_sat.jpg + <id>_mask.png',
        lists_source='VITA-Group/GLNet',
        default_out='data/deepglobe_landcover')
    parser.add_argument(
        '--unmatched',
        default='error',
        choices=sorted(UNMATCHED),
        help='binarised colour outside the palette: error, '
        'unknown (class 0, as GLNet) or ignore (255)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run ``tools/dataset_converters/deepglobe.py``; errors propagate."""
    args = parse_args(argv)
    print_summary(args.out_dir, convert(**vars(args)))
