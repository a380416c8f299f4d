#!/usr/bin/env python
"""Inria Aerial -> ``InriaAerialDataset`` layout by FCtL's split.

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

Usage::

    python tools/dataset_converters/inria.py /data/AerialImageDataset \\
        --splits-dir /data/FCtL/txt_1 -o data/inria_aerial [--nproc 4]
"""
import os.path as osp
import sys
from typing import List

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from split_layout import (
    Tile,
    build_parser,
    check_sources,  # noqa: E402
    lay_out,
    print_summary,
    read_split_lists)

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
    try:
        with Image.open(path) as im:
            if im.mode == '1':
                im = im.convert('L')  # bilevel TIFF: 0 / 255
            if im.mode != 'L':
                raise ValueError(f'{path}: expected one-band 8-bit ground '
                                 f'truth, got PIL mode {im.mode!r}')
            return np.asarray(im, dtype=np.uint8).copy()
    except (OSError, SyntaxError) as e:  # PIL.UnidentifiedImageError et al.
        raise ValueError(f'{path}: cannot read the ground truth ({e})') from e


def load_gt_ids(path: str) -> np.ndarray:
    """Read ``path`` and convert it with :func:`binary_to_ids`."""
    return binary_to_ids(read_gt(path), source=path)


def source_folder(src: str) -> str:
    """The folder holding ``images/`` and ``gt/``: ``src/train`` if present,
    else ``src``."""
    train = osp.join(src, 'train')
    return train if osp.isdir(osp.join(train, 'images')) else src


def plan_tiles(src: str,
               splits_dir: str,
               out_dir: str,
               splits=('train', 'val', 'test')) -> List[Tile]:
    """Tiles named by the split lists, with their source and output paths.

    Raises:
        FileNotFoundError: If ``src`` or a list is missing, or a listed
            tile's image or ground truth is not in the download (all named).
        ValueError: For malformed or overlapping lists.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'Inria download folder {src} not found')
    folder = source_folder(src)
    lists = read_split_lists(splits_dir, splits, LIST_SUFFIX)
    tiles = []
    for split, names in lists.items():
        for name in names:
            tile = name[:-len(LIST_SUFFIX)]
            tiles.append(
                Tile(
                    split=split,
                    src_img=osp.join(folder, 'images', tile + '.tif'),
                    src_ann=osp.join(folder, 'gt', tile + '.tif'),
                    dst_img=osp.join(out_dir, 'img_dir', split,
                                     tile + IMG_SUFFIX),
                    dst_ann=osp.join(out_dir, 'ann_dir', split,
                                     tile + ANN_SUFFIX)))
    check_sources(tiles, splits_dir)
    return tiles


def convert(src: str,
            splits_dir: str,
            out_dir: str,
            splits=('train', 'val', 'test'),
            copy: bool = False,
            nproc: int = 1) -> dict:
    """Lay out the listed tiles under ``out_dir``; see the module docstring.

    Returns:
        dict: ``{'written': n, 'skipped': m, 'per_split': {split: count}}``.
    """
    tiles = plan_tiles(src, splits_dir, out_dir, splits)
    counts = lay_out(tiles, load_gt_ids, copy=copy, nproc=nproc)
    counts['per_split'] = {s: sum(t.split == s for t in tiles) for s in splits}
    return counts


def parse_args(argv=None):
    return build_parser(
        'Convert Inria Aerial to the mmseg layout by the FCtL split (ground '
        'truth 0/255 -> 0/1)',
        src_help='download root (with train/) or its train/ folder: '
        'images/<tile>.tif + gt/<tile>.tif',
        lists_source='liqiokkk/FCtL txt_1/',
        default_out='data/inria_aerial').parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    counts = convert(
        args.src,
        args.splits_dir,
        args.out_dir,
        args.splits,
        copy=args.copy,
        nproc=args.nproc)
    print_summary(args.out_dir, counts)


if __name__ == '__main__':
    main()
