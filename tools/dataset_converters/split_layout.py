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
renamed when complete, so an output that exists is whole: a re-run skips it.
The download is only read (hard links add a name to a file's inode; its
content and times stay as they are).
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Dict, List, NamedTuple, Sequence

import cv2
import numpy as np
from mmengine.utils import track_parallel_progress, track_progress

# split name -> list file, as GLNet / FCtL (txt_1/) publish them
SPLIT_FILES = {
    'train': 'train.txt',
    'val': 'crossvali.txt',
    'test': 'test.txt'
}


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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder
    and a rename, so ``path`` either does not exist or is complete."""
    folder, base = osp.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f'.{base}.', suffix='.part', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> as open() would
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_link_or_copy(src: str, dst: str, copy: bool = False) -> str:
    """Hard-link ``src`` to ``dst`` (or copy it: ``copy=True``, another file
    system, or linking refused), through a temporary name and a rename.

    Returns:
        str: ``'linked'`` or ``'copied'``.
    """
    folder, base = osp.split(dst)
    fd, tmp = tempfile.mkstemp(prefix=f'.{base}.', suffix='.part', dir=folder)
    os.close(fd)
    os.remove(tmp)
    try:
        how = 'copied'
        if not copy:
            try:
                os.link(src, tmp)
                how = 'linked'
            except OSError:  # EXDEV, EPERM (protected_hardlinks), no support
                pass
        if how == 'copied':
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise
    return how


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
    """Print what a converter's ``convert`` returned (see :func:`lay_out`,
    plus ``'per_split'``)."""
    print(f'\n{out_dir}: {counts["written"]} tile(s) written, '
          f'{counts["skipped"]} already done; per split '
          f'{counts["per_split"]}')


def lay_out(tiles: Sequence[Tile],
            load_ids: Callable[[str], np.ndarray],
            copy: bool = False,
            nproc: int = 1) -> Dict[str, int]:
    """Link/copy every tile's image and write its converted annotation.

    Args:
        tiles (Sequence[Tile]): Checked tiles (see :func:`check_sources`).
        load_ids (Callable[[str], np.ndarray]): Reads a source annotation
            and returns its (H, W) uint8 class-id map; raises ValueError
            naming the file for bad content. Must be a module-level function
            when ``nproc > 1``.
        copy (bool): Copy images instead of hard-linking them.
        nproc (int): Worker processes (mmengine's progress bar either way).

    Returns:
        dict[str, int]: ``{'written': n, 'skipped': m}`` (tiles whose two
        outputs already existed are skipped).
    """
    for t in tiles:
        os.makedirs(osp.dirname(t.dst_img), exist_ok=True)
        os.makedirs(osp.dirname(t.dst_ann), exist_ok=True)
    tasks = [(t, load_ids, copy) for t in tiles]
    if nproc > 1:
        results = track_parallel_progress(_lay_out_tile, tasks, nproc)
    else:
        results = track_progress(_lay_out_tile, tasks)
    return {k: results.count(k) for k in ('written', 'skipped')}
