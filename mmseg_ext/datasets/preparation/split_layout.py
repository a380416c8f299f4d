"""Shared by the DeepGlobe and Inria converters: published split lists in,
mmseg ``img_dir/ann_dir`` layout out.

Both ultra-high-resolution benchmarks are used by ISDNet, FCtL and GLNet with
fixed tile lists (``train.txt``, ``crossvali.txt`` = val, ``test.txt``; one
file name per line) cut from the official ``train/`` folder, the only one
released with ground truth. A converter reads those lists, checks that every
listed tile exists in the download before writing anything, then per tile
hard-links (or copies) the image and writes the converted annotation::

    OUT/img_dir/<split>/<image name>
    OUT/ann_dir/<split>/<annotation name>

Every output is written under a temporary name in its final folder and
renamed when complete (:mod:`mmseg_ext.utils.atomic_io`), so an output that
exists is whole: a re-run skips it. The download is only read (hard links add
a name to a file's inode; its content and times stay as they are).

A benchmark describes itself with a :class:`TileLayout`; :func:`convert` is
:func:`plan_tiles` (lists -> checked :class:`Tile` s) then :func:`lay_out`.
"""
import argparse
import os
import os.path as osp
from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from mmseg_ext.utils.atomic_io import (atomic_link_or_copy, atomic_write_bytes,
                                       remove_stale_temps)
from .progress import track

# split name -> list file, as GLNet / FCtL (txt_1/) publish them
SPLIT_FILES = {
    'train': 'train.txt',
    'val': 'crossvali.txt',
    'test': 'test.txt'
}
SPLITS = ('train', 'val', 'test')


class Tile(NamedTuple):
    """One tile to lay out: its sources and destinations (all paths)."""
    split: str
    src_img: str
    src_ann: str
    dst_img: str
    dst_ann: str


def read_split_list(path: str, suffix: str) -> List[str]:
    """Read one published split list: one image file name per line.

    Blank lines and surrounding white space are ignored.

    Args:
        path (str): The list file, e.g. ``splits/deepglobe/train.txt``.
        suffix (str): The suffix every entry must end with (``'_sat.jpg'``).

    Returns:
        list[str]: The entries, in file order.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If an entry lacks ``suffix``, holds a path separator or
            appears twice, naming the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split list {path} not found')
    names, seen = [], {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            name = line.strip()
            if not name:
                continue
            if not name.endswith(suffix) or name == suffix or '/' in name \
                    or '\\' in name:
                raise ValueError(
                    f'{path}:{lineno}: {name!r} is not a file name ending '
                    f'with {suffix!r}')
            if name in seen:
                raise ValueError(f'{path}:{lineno}: {name!r} repeats line '
                                 f'{seen[name]}')
            seen[name] = lineno
            names.append(name)
    return names


def read_split_lists(splits_dir: str, splits: Sequence[str],
                     suffix: str) -> Dict[str, List[str]]:
    """Read the published lists of ``splits`` from ``splits_dir``.

    Args:
        splits_dir (str): Folder holding ``train.txt``, ``crossvali.txt``
            and ``test.txt`` (those needed by ``splits``).
        splits (Sequence[str]): Split names among ``train``, ``val``,
            ``test``.
        suffix (str): Suffix of every entry (see :func:`read_split_list`).

    Returns:
        dict[str, list[str]]: Split name -> entries.

    Raises:
        FileNotFoundError: If a needed list file is missing.
        ValueError: If a split name is unknown, an entry is malformed, or a
            tile is listed in two splits (naming both list files).
    """
    lists, owner = {}, {}
    for split in splits:
        if split not in SPLIT_FILES:
            raise ValueError(f'unknown split {split!r}; expected one of '
                             f'{sorted(SPLIT_FILES)}')
        path = osp.join(splits_dir, SPLIT_FILES[split])
        lists[split] = read_split_list(path, suffix)
        for name in lists[split]:
            if name in owner and owner[name] != path:
                raise ValueError(f'{name!r} is listed in both {owner[name]} '
                                 f'and {path}')
            owner[name] = path
    return lists


def check_sources(tiles: Sequence[Tile], lists_dir: str) -> None:
    """Check the planned tiles before anything is written.

    Raises:
        ValueError: If the lists name no tile at all.
        FileNotFoundError: Naming the listed source files that are missing
            (the first 10, and how many in all).
    """
    if not tiles:
        raise ValueError(f'the split lists in {lists_dir} name no tile')
    missing = [(t.split, p) for t in tiles for p in (t.src_img, t.src_ann)
               if not osp.isfile(p)]
    if missing:
        shown = ', '.join(f'{p} ({SPLIT_FILES[s]})' for s, p in missing[:10])
        more = f' and {len(missing) - 10} more' if len(missing) > 10 else ''
        raise FileNotFoundError(
            f'{len(missing)} file(s) named by the split lists in {lists_dir} '
            f'are missing from the download: {shown}{more}')


class TileLayout(NamedTuple):
    """Where one benchmark's tiles are: download, split lists and output.

    A list entry ``<stem><list_suffix>`` is read from ``sources(folder,
    stem)`` (image, annotation), ``folder`` being ``source_folder(src)``, and
    written to ``OUT/img_dir/<split>/<stem><img_suffix>`` and
    ``OUT/ann_dir/<split>/<stem><ann_suffix>``.
    """
    dataset: str  # its name in messages
    list_suffix: str
    img_suffix: str
    ann_suffix: str
    source_folder: Callable[[str], str]
    sources: Callable[[str, str], Tuple[str, str]]


def plan_tiles(layout: TileLayout,
               src: str,
               splits_dir: str,
               out_dir: str,
               splits: Sequence[str] = SPLITS) -> List[Tile]:
    """The tiles named by the split lists, checked against the download.

    Args:
        layout (TileLayout): The benchmark's names and folders.
        src (str): The download (see ``layout.source_folder``).
        splits_dir (str): Folder of the published lists.
        out_dir (str): The output root.
        splits (Sequence[str]): Split names among ``train``, ``val``,
            ``test``. Default: all three.

    Returns:
        list[Tile]: In list order, split by split.

    Raises:
        FileNotFoundError: If ``src`` or a list is missing, or a listed
            tile's image or annotation is not in the download (all named;
            see :func:`read_split_lists`, :func:`check_sources`).
        ValueError: For malformed or overlapping lists.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(
            f'{layout.dataset} download folder {src} not found')
    folder = layout.source_folder(src)
    lists = read_split_lists(splits_dir, splits, layout.list_suffix)
    tiles = []
    for split, names in lists.items():
        for name in names:
            stem = name[:-len(layout.list_suffix)]
            src_img, src_ann = layout.sources(folder, stem)
            tiles.append(
                Tile(
                    split=split,
                    src_img=src_img,
                    src_ann=src_ann,
                    dst_img=osp.join(out_dir, 'img_dir', split,
                                     stem + layout.img_suffix),
                    dst_ann=osp.join(out_dir, 'ann_dir', split,
                                     stem + layout.ann_suffix)))
    check_sources(tiles, splits_dir)
    return tiles


def read_uint8(path: str, mode: str, convert_from: str, expected: str,
               what: str) -> np.ndarray:
    """Read an image file as a uint8 array of PIL ``mode``.

    Args:
        path (str): The file.
        mode (str): The PIL mode wanted: ``'RGB'`` gives (H, W, 3), ``'L'``
            (H, W).
        convert_from (str): A PIL mode converted to ``mode`` first (``'P'``
            palette images to RGB, ``'1'`` bilevel images to L).
        expected (str): What the file should be, in the error message.
        what (str): Its name in the unreadable-file message.

    Raises:
        ValueError: If the file is not an image or of another mode, naming
            the file (and the mode).
    """
    try:
        with Image.open(path) as im:
            if im.mode == convert_from:
                im = im.convert(mode)
            if im.mode != mode:
                raise ValueError(f'{path}: expected {expected}, got PIL mode '
                                 f'{im.mode!r}')
            return np.asarray(im, dtype=np.uint8).copy()
    except (OSError, SyntaxError) as e:  # PIL.UnidentifiedImageError et al.
        raise ValueError(f'{path}: cannot read {what} ({e})') from e


def write_png(path: str, ids: np.ndarray) -> None:
    """Atomically write an (H, W) uint8 id map as a one-channel PNG."""
    ok, buf = cv2.imencode('.png', ids)
    if not ok:
        raise RuntimeError(f'PNG encoding failed for {path}')
    atomic_write_bytes(path, buf.tobytes())


def _lay_out_tile(args) -> str:
    tile, load_ids, copy = args
    done = 0
    # the annotation first: a bad one leaves no image without its labels
    if osp.exists(tile.dst_ann):
        done += 1
    else:
        write_png(tile.dst_ann, load_ids(tile.src_ann))
    if osp.exists(tile.dst_img):
        done += 1
    else:
        atomic_link_or_copy(tile.src_img, tile.dst_img, copy=copy)
    return 'skipped' if done == 2 else 'written'


def build_parser(description: str, src_help: str, lists_source: str,
                 default_out: str) -> argparse.ArgumentParser:
    """The converters' shared command line.

    ``SRC --splits-dir DIR [-o OUT] [--splits ...] [--copy] [--nproc N]``;
    a converter adds its own options to the returned parser.

    Args:
        description (str): The converter's description.
        src_help (str): Help of the ``src`` argument (the download layout).
        lists_source (str): Where the published lists come from, e.g.
            ``'VITA-Group/GLNet'``.
        default_out (str): Default ``--out-dir`` (the base config's
            ``data_root``).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument(
        '--splits-dir',
        required=True,
        help='folder with train.txt, crossvali.txt, test.txt'
        f' ({lists_source})')
    parser.add_argument('-o', '--out-dir', default=default_out)
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'val', 'test'],
        choices=['train', 'val', 'test'])
    parser.add_argument(
        '--copy',
        action='store_true',
        help='copy images instead of hard-linking them')
    parser.add_argument('--nproc', type=int, default=1)
    return parser


def print_summary(out_dir: str, counts: Dict) -> None:
    """Print what a converter's ``convert`` returned (see
    :func:`lay_out`)."""
    print(f'\n{out_dir}: {counts["written"]} tile(s) written, '
          f'{counts["skipped"]} already done; per split '
          f'{counts["per_split"]}')


def lay_out(tiles: Sequence[Tile],
            load_ids: Callable[[str], np.ndarray],
            splits: Sequence[str],
            copy: bool = False,
            nproc: int = 1) -> Dict:
    """Link/copy every tile's image and write its converted annotation.

    Args:
        tiles (Sequence[Tile]): Checked tiles (see :func:`plan_tiles`).
        load_ids (Callable[[str], np.ndarray]): Reads a source annotation
            and returns its (H, W) uint8 class-id map; raises ValueError
            naming the file for bad content. Must be picklable (a
            module-level function or instance) when ``nproc > 1``.
        splits (Sequence[str]): The splits asked for (counted in
            ``per_split``, 0 for one whose list is empty).
        copy (bool): Copy images instead of hard-linking them.
        nproc (int): Worker processes (mmengine's progress bar either way).

    Returns:
        dict: ``{'written': n, 'skipped': m, 'per_split': {split: count}}``
        (tiles whose two outputs already existed are skipped).
    """
    outputs: Dict[str, set] = {}  # folder -> the file names written there
    for t in tiles:
        for dst in (t.dst_img, t.dst_ann):
            outputs.setdefault(osp.dirname(dst), set()).add(osp.basename(dst))
    for folder, names in sorted(outputs.items()):
        os.makedirs(folder, exist_ok=True)
        removed = remove_stale_temps(folder, names=names)
        if removed:
            print(f'removed {len(removed)} temporary file(s) an interrupted '
                  f'run left in {folder}')
    results = track(_lay_out_tile, [(t, load_ids, copy) for t in tiles], nproc)
    counts = {k: results.count(k) for k in ('written', 'skipped')}
    counts['per_split'] = {s: sum(t.split == s for t in tiles) for s in splits}
    return counts


def convert(layout: TileLayout,
            load_ids: Callable[[str], np.ndarray],
            src: str,
            splits_dir: str,
            out_dir: str,
            splits: Sequence[str] = SPLITS,
            copy: bool = False,
            nproc: int = 1) -> Dict:
    """:func:`plan_tiles` then :func:`lay_out`: a benchmark's conversion.

    Returns:
        dict: ``{'written': n, 'skipped': m, 'per_split': {split: count}}``.

    Raises:
        FileNotFoundError: See :func:`plan_tiles`.
        ValueError: If the lists are malformed or ``load_ids`` refuses an
            annotation.
    """
    tiles = plan_tiles(layout, src, splits_dir, out_dir, splits)
    return lay_out(tiles, load_ids, splits, copy=copy, nproc=nproc)
