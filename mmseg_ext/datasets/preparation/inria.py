"""Inria Aerial -> ``InriaAerialDataset`` layout by FCtL's split.

The library behind ``tools/dataset_converters/inria.py``.

Input: the official download (``AerialImageDataset/``), whose ``train/`` folder
holds 180 tiles of 5000x5000 at 30 cm (austin, chicago, kitsap, tyrol-w,
vienna; 36 each): ``images/<tile>.tif`` (3-band uint8 GeoTIFF) and
``gt/<tile>.tif`` (one band, 0 = background, 255 = building). Give the
download root (holding ``train/``) or the ``train/`` folder itself. The
official ``test/`` folder has no ground truth and is not used: ISDNet follows
FCtL, which splits the 180 annotated tiles into 126 train / 27 val / 27 test.

Split lists: ``--splits-dir`` is a folder with FCtL's ``train.txt``,
``crossvali.txt`` (our ``val``) and ``test.txt`` (one ``<tile>_sat.tif`` per
line), from https://github.com/liqiokkk/FCtL ``txt_1/``. They are not shipped
here.

Output (``OUT``, default ``data/inria_aerial``, the base config's
``data_root``), names as ISDNet's ``InriaAerialDataset`` expects them::

    OUT/img_dir/{train,val,test}/<tile>_sat.tif   hard link (or --copy)
    OUT/ann_dir/{train,val,test}/<tile>_mask.png  uint8 0 / 1

Ground truth rule (FCtL's ``Label/xxx_mask.png (two values: 0-1)``):
0 -> 0 (background), 255 -> 1 (building); any other value is an error naming
the file and the values. The GeoTIFF images are kept as they are (mmseg reads
them with ``LoadImageFromFile``; the base config uses the Pillow decoder,
which reads the same pixels as OpenCV without libtiff's warnings about the
GeoTIFF tags).

Outputs are written under temporary names and renamed when complete; a re-run
skips outputs that exist. Every listed tile is checked to exist before
anything is written. The download is never modified.
"""
import os.path as osp
from functools import partial
from typing import Optional, Sequence, Tuple

import numpy as np

from . import split_layout
from .split_layout import TileLayout, build_parser, print_summary, read_uint8

LIST_SUFFIX = '_sat.tif'  # FCtL's names; the download has <tile>.tif
IMG_SUFFIX = '_sat.tif'
ANN_SUFFIX = '_mask.png'


def binary_to_ids(mask: np.ndarray, source: str = '<array>') -> np.ndarray:
    """Map Inria ground truth 0/255 to class ids 0 (background) / 1
    (building).

    Args:
        mask (np.ndarray): (H, W) uint8 with values in {0, 255}.
        source (str): Name used in error messages (e.g. the file path).

    Returns:
        np.ndarray: (H, W) uint8 with values in {0, 1}.

    Raises:
        ValueError: If ``mask`` is not (H, W) uint8 or holds a value other
            than 0 and 255, naming ``source``, the values and their pixel
            counts.
    """
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f'{source}: expected an (H, W) uint8 mask, got shape '
                         f'{mask.shape} dtype {mask.dtype}')
    bad = (mask != 0) & (mask != 255)
    if bad.any():
        values, counts = np.unique(mask[bad], return_counts=True)
        found = ', '.join(f'{v} ({c} px)'
                          for v, c in zip(values[:10], counts[:10]))
        raise ValueError(f'{source}: ground truth must hold only 0 and 255, '
                         f'found {found}')
    return (mask == 255).astype(np.uint8)


def read_gt(path: str) -> np.ndarray:
    """Read a one-band ground-truth GeoTIFF as (H, W) uint8.

    Raises:
        ValueError: If the file is not an image or not a one-band 8-bit
            image, naming the file and the PIL mode.
    """
    # a bilevel TIFF ('1') reads as 0 / 255
    return read_uint8(path, 'L', '1', 'one-band 8-bit ground truth',
                      'the ground truth')


def load_gt_ids(path: str) -> np.ndarray:
    """Read ``path`` and convert it with :func:`binary_to_ids`."""
    return binary_to_ids(read_gt(path), source=path)


def source_folder(src: str) -> str:
    """The folder holding ``images/`` and ``gt/``: ``src/train`` if present,
    else ``src``."""
    train = osp.join(src, 'train')
    return train if osp.isdir(osp.join(train, 'images')) else src


def _sources(folder: str, tile: str) -> Tuple[str, str]:
    """Image and ground truth of ``tile`` in the download's ``folder``."""
    name = tile + '.tif'
    return osp.join(folder, 'images', name), osp.join(folder, 'gt', name)


# dataset, list / image / annotation suffixes, folders
LAYOUT = TileLayout('Inria', LIST_SUFFIX, IMG_SUFFIX, ANN_SUFFIX,
                    source_folder, _sources)

#: Lay out the listed tiles under ``out_dir`` (see the module docstring):
#: ``convert(src, splits_dir, out_dir, splits=('train', 'val', 'test'),
#: copy=False, nproc=1)``, :func:`split_layout.convert` with :data:`LAYOUT`
#: (FCtL's list names, ``images/`` and ``gt/`` of the download) and
#: :func:`load_gt_ids`. Returns ``{'written': n, 'skipped': m, 'per_split':
#: {split: count}}``; raises FileNotFoundError naming a missing ``src``,
#: list, image or ground truth, ValueError for malformed or overlapping
#: lists or a ground truth holding a value other than 0 and 255.
convert = partial(split_layout.convert, LAYOUT, load_gt_ids)


def parse_args(argv: Optional[Sequence[str]] = None):
    """The command line of ``tools/dataset_converters/inria.py``."""
    return build_parser(
        'Convert Inria Aerial to the mmseg layout by the FCtL split (ground '
        'truth 0/255 -> 0/1)',
        src_help='download root (with train/) or its train/ folder: '
        'images/<tile>.tif + gt/<tile>.tif',
        lists_source='liqiokkk/FCtL txt_1/',
        default_out='data/inria_aerial').parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run ``tools/dataset_converters/inria.py``; errors propagate."""
    args = parse_args(argv)
    print_summary(args.out_dir, convert(**vars(args)))
