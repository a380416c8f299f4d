"""Write the patches of the iSAID download: per-image workers, the run's
settings file and the command line."""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ext.utils.atomic_io import atomic_write_bytes, remove_stale_temps
from ..cli import run
from ..progress import track
from .palette import rgb_to_ids
from .patches import patch_stem, patch_windows
from .sources import (ANN_SUFFIX, IMG_SUFFIX, OFFICIAL_EXCLUDE, Pair, Source,
                      find_pairs)

SPLITS = ('train', 'val', 'test')
META_FILE = '.isaid_converter.json'


def png_size(head: bytes) -> Optional[Tuple[int, int]]:
    """(height, width) from the first 24 bytes of a PNG, None if not PNG."""
    if len(head) >= 24 and head[:8] == b'\x89PNG\r\n\x1a\n' \
            and head[12:16] == b'IHDR':
        return (int.from_bytes(head[20:24],
                               'big'), int.from_bytes(head[16:20], 'big'))
    return None


def _decode(source: Source, data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{source}: not a readable image')
    return img


def _encode_png(array: np.ndarray, target: str) -> bytes:
    ok, buf = cv2.imencode('.png', array)
    if not ok:
        raise RuntimeError(f'PNG encoding failed for {target}')
    return buf.tobytes()


def convert_pair(pair: Pair,
                 out_dir: str,
                 patch_size: int = 896,
                 stride: int = 512) -> Tuple[int, int]:
    """Write the patches (image + id annotation) of one source image.

    Outputs that already exist are skipped; if all do, nothing is decoded.
    The mask is converted and every patch encoded before the first output
    is written.

    Args:
        pair (Pair): The source image and colour mask.
        out_dir (str): ``OUT``; writes ``img_dir/<split>`` and
            ``ann_dir/<split>`` under it (created if missing).
        patch_size (int): Patch side. Default: 896.
        stride (int): Window step. Default: 512.

    Returns:
        tuple[int, int]: (files written, files skipped).

    Raises:
        ValueError: If a file is unreadable, image and mask sizes differ, or
            the mask holds a colour outside the palette (naming the file).
    """
    img_dir = osp.join(out_dir, 'img_dir', pair.split)
    ann_dir = osp.join(out_dir, 'ann_dir', pair.split)
    image_bytes = None
    image = None
    size = png_size(pair.image.read(24))
    if size is None:  # not a PNG header: decode to learn the size
        image_bytes = pair.image.read()
        image = _decode(pair.image, image_bytes)
        size = image.shape[:2]
    height, width = size
    windows = patch_windows(height, width, patch_size, stride)
    targets = []  # (window, image path, annotation path or None)
    for window in windows:
        name = patch_stem(pair.stem, window, height, width)
        targets.append(
            (window, osp.join(img_dir, name + IMG_SUFFIX),
             osp.join(ann_dir, name +
                      ANN_SUFFIX) if pair.mask is not None else None))
    todo = [(p, osp.exists(p)) for t in targets for p in t[1:] if p]
    skipped = sum(done for _, done in todo)
    if skipped == len(todo):
        return 0, skipped
    if image is None:
        image_bytes = pair.image.read()
        image = _decode(pair.image, image_bytes)
    if image.shape[:2] != (height, width):
        raise ValueError(f'{pair.image}: header says {height}x{width}, '
                         f'pixels are {image.shape[0]}x{image.shape[1]}')
    ids = None
    if pair.mask is not None:
        colour = _decode(pair.mask, pair.mask.read())
        if colour.shape[:2] != (height, width):
            raise ValueError(
                f'{pair.mask}: mask is {colour.shape[0]}x{colour.shape[1]} '
                f'but its image {pair.image} is {height}x{width}')
        ids = rgb_to_ids(colour[..., ::-1], source=str(pair.mask))
    whole = len(windows) == 1 and windows[0] == (0, height, 0, width)
    outputs: List[Tuple[str, bytes]] = []
    for (y1, y2, x1, x2), img_path, ann_path in targets:
        if ann_path and not osp.exists(ann_path):
            outputs.append((ann_path, _encode_png(ids[y1:y2, x1:x2],
                                                  ann_path)))
        if not osp.exists(img_path):
            # split_iSAID.py: copyfile for an image kept whole, else the
            # cv2.imwrite'd crop
            outputs.append((img_path, image_bytes if whole else _encode_png(
                np.ascontiguousarray(image[y1:y2, x1:x2]), img_path)))
    for path, data in outputs:
        atomic_write_bytes(path, data)
    return len(outputs), skipped


def _convert_task(task) -> Tuple[int, int]:
    """:func:`convert_pair` of one task tuple (picklable for workers)."""
    return convert_pair(*task)


def _report_stale(removed: Sequence[str]) -> None:
    if removed:
        print(f'removed {len(removed)} temporary file(s) an interrupted run '
              f'left in {osp.dirname(removed[0])}')


def _check_meta(out_dir: str, meta: dict) -> None:
    """Record ``meta`` in ``out_dir``, or check it against the record.

    Raises:
        ValueError: If ``out_dir`` holds patches of other settings.
    """
    path = osp.join(out_dir, META_FILE)
    if osp.exists(path):
        with open(path) as f:
            old = json.load(f)
        if old != meta:
            raise ValueError(
                f'{out_dir} holds patches made with {old} ({path}); this run '
                f'asks for {meta}: use another output folder')
    else:
        atomic_write_bytes(path, json.dumps(meta).encode())


def convert(src: str,
            out_dir: str,
            splits: Sequence[str] = ('train', 'val'),
            patch_size: int = 896,
            stride: int = 512,
            exclude: Sequence[str] = OFFICIAL_EXCLUDE,
            nproc: int = 1) -> Dict[str, Dict[str, int]]:
    """Convert the iSAID download ``src`` into mmseg patches under ``out_dir``.

    All splits are matched (images to masks) before anything is written.

    Args:
        src (str): Download folder (zipped or unzipped, see module doc).
        out_dir (str): Output folder (``data_root`` of the configs).
        splits (Sequence[str]): Splits to convert. Default: train, val.
        patch_size (int): Patch side in pixels. Default: 896.
        stride (int): Window step in pixels. Default: 512.
        exclude (Sequence[str]): Image stems to skip. Default: P1527, P1530.
        nproc (int): Worker processes. Default: 1.

    Returns:
        dict: Per split, ``images`` (source images), ``written`` and
        ``skipped`` (output files).

    Raises:
        ValueError: If ``out_dir`` lies inside ``src``, a split is unknown,
            the settings differ from an earlier run into ``out_dir``, or a
            source is bad (see :func:`find_pairs`, :func:`convert_pair`).
        FileNotFoundError: If a split folder or its images are missing.
    """
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f'unknown split {split!r}; choose from {SPLITS}')
    patch_windows(patch_size + 1, patch_size + 1, patch_size, stride)
    src_real = osp.realpath(src)
    out_real = osp.realpath(out_dir)
    if out_real == src_real or out_real.startswith(src_real + os.sep):
        raise ValueError(f'the output folder {out_dir} lies inside the '
                         f'download {src}, which is never modified')
    pairs = {split: find_pairs(src, split, exclude) for split in splits}
    os.makedirs(out_dir, exist_ok=True)
    _report_stale(remove_stale_temps(out_dir, names={META_FILE}))
    _check_meta(out_dir, dict(patch_size=patch_size, stride=stride))
    summary = {}
    for split in splits:
        folders = [osp.join(out_dir, 'img_dir', split)]
        if split != 'test':
            folders.append(osp.join(out_dir, 'ann_dir', split))
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
            _report_stale(
                remove_stale_temps(folder, suffixes=(IMG_SUFFIX, ANN_SUFFIX)))
        print(f'iSAID {split}: {len(pairs[split])} images -> '
              f'{osp.join(out_dir, "img_dir", split)}')
        tasks = [(p, out_dir, patch_size, stride) for p in pairs[split]]
        counts = track(_convert_task, tasks, nproc)
        summary[split] = dict(
            images=len(tasks),
            written=sum(c[0] for c in counts),
            skipped=sum(c[1] for c in counts))
        # the progress bar has ended its line
        print(f'iSAID {split}: {summary[split]["written"]} files written, '
              f'{summary[split]["skipped"]} already there')
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``tools/dataset_converters/isaid.py``."""
    parser = argparse.ArgumentParser(
        description='Convert the iSAID download (zipped or unzipped) to '
        'mmseg patches as PFNet trained on them (896x896, stride 512).')
    parser.add_argument('src', help='iSAID download folder (train/, val/)')
    parser.add_argument(
        '-o',
        '--out-dir',
        default=osp.join('data', 'iSAID'),
        help='output folder (data_root); default data/iSAID')
    parser.add_argument('--patch-size', type=int, default=896)
    parser.add_argument(
        '--stride',
        type=int,
        default=512,
        help='window step = patch size - overlap')
    parser.add_argument(
        '--splits', nargs='+', default=['train', 'val'], choices=SPLITS)
    parser.add_argument(
        '--exclude',
        nargs='*',
        default=list(OFFICIAL_EXCLUDE),
        help='image stems to skip (official: P1527 P1530)')
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes')
    return parser.parse_args(argv)


def _convert_from_args(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    convert(args.src, args.out_dir, args.splits, args.patch_size, args.stride,
            args.exclude, args.nproc)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``tools/dataset_converters/isaid.py``.

    Returns:
        int: The exit status: 0, or 1 after printing ``error: <message>`` on
        a line of its own on stderr for a bad download or settings (see
        :func:`mmseg_ext.datasets.preparation.cli.run`).
    """
    return run(_convert_from_args, argv)
