#!/usr/bin/env python
"""Prepare iSAID for mmseg as PFNet (PointFlow) trained on it.

Reads the official download (DOTA-v1.0 images + iSAID semantic masks),
converts the RGB colour masks to class ids and cuts 896x896 patches with a
stride of 512 (overlap 384), writing the layout that mmseg's
``iSAIDDataset`` and ``configs/_base_/datasets/isaid_pfnet-896x896.py`` (or
``mmseg::_base_/datasets/isaid.py``) read with ``data_root=OUT``::

    OUT/img_dir/<split>/P0003_0_896_0_896.png                    BGR image
    OUT/ann_dir/<split>/P0003_0_896_0_896_instance_color_RGB.png uint8 ids
    OUT/img_dir/<split>/P0005.png                  (kept whole, see below)
    OUT/ann_dir/<split>/P0005_instance_color_RGB.png

Annotations keep the ``_instance_color_RGB.png`` suffix that
``iSAIDDataset`` expects (``seg_map_suffix``) but hold one-channel class ids
0-15 (``reduce_zero_label=False``: background is class 0 and counts in the
16-class mIoU, as in the official ``eval.py``; PFNet's ``label2trainid``,
which maps background to 255, is used only to dump predictions).

What the official PFNet preparation does, and this reproduces
(lxtGH/PFSegNets ``tools/split_iSAID.py`` then
``tools/convert_iSAID_mask2graymask.py``, copied unchanged into the seed
Jittor/PFSegNets-Jittor; the README's order, split then convert, gives the
same result as convert then split):

- **Palette.** The 16 colours of the official devkit (the README; mmseg's
  ``iSAIDDataset.METAINFO['palette']``, which is reused here), id = index.
  The official converter silently maps any other colour to background 0;
  here it is an error naming the file and the colours (:func:`rgb_to_ids`).
- **Windows** (:func:`patch_windows`). Only an image larger than the patch
  on *both* sides is cut: windows start every ``stride`` pixels (x outer,
  y inner) and one that would cross the right/bottom border is moved back to
  end on it, so every patch is exactly 896x896 and the last ones overlap
  more. Any other image (e.g. P0005, 977x884; some are 6402x525) is copied
  whole under its own name, and PFNet's training/evaluation resize it to
  896x896 (``joint_transforms.Resize``), which the base config reproduces.
- **Names** ``<stem>_<y1>_<y2>_<x1>_<x2>.png`` and
  ``..._instance_color_RGB.png``; P1527 and P1530 are skipped
  (``--exclude``), as ``split_iSAID.py`` does.
- **Pixels.** Patches are cv2-decoded (``IMREAD_COLOR``) crops written as
  PNG, as ``cv2.imwrite`` does; whole images are copied byte for byte
  (``shutil.copyfile``).

Differences from mmseg's converter (open-mmlab/mmsegmentation
``tools/dataset_converters/isaid.py``, same 896/384 defaults and names):
mmseg pads an image smaller than the patch on a side (image with 0, label
with 255) and then cuts it (P0005 -> ``P0005_0_896_0_896`` and
``P0005_81_977_0_896``, with 12 padded columns), whereas PFNet keeps such
images whole; mmseg does not skip P1527/P1530, saves image patches in BMP
format under a ``.png`` name and extracts the zips to a temporary folder.
So the patch counts differ from mmseg's documented 33978/11644.

Input (``SRC``), either as downloaded or unzipped, per split folder::

    SRC/train/images/part1.zip ... part3.zip  (DOTA: images/P0000.png ...)
    SRC/train/Semantic_masks/images.zip
                                (images/P0000_instance_color_RGB.png ...)
    SRC/val/images/part1.zip,  SRC/val/Semantic_masks/images.zip
    SRC/test/images/part1.zip, part2.zip       (no masks; --splits test)

or ``SRC/<split>/images/**/P0000.png`` and
``SRC/<split>/Semantic_masks/**/P0000_instance_color_RGB.png`` (the sample
in ``data/isaid``); masks next to the images (the devkit's layout) are found
too. Zip members are read in memory, never extracted; a loose file wins
over a zipped one of the same name. ``SRC`` is only read (``OUT`` may not
lie inside it).

Usage::

    python tools/dataset_converters/isaid.py SRC [-o OUT] [--patch-size 896]
        [--stride 512] [--splits train val] [--exclude P1527 P1530]
        [--nproc N]

Every output is written under a temporary name (``.<name>.*.part``, which
mmseg does not list) and renamed when complete, so an existing output is
whole and a re-run skips it (images whose outputs all exist are not even
decoded). A source image is converted completely before any of its outputs
is written, so a bad mask leaves nothing of that image behind. ``OUT``
remembers the patch size and stride (``OUT/.isaid_converter.json``) and
refuses to mix patches of other settings.
"""
import argparse
import json
import os
import os.path as osp
import sys
import zipfile
from functools import lru_cache
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar, track_parallel_progress
from mmseg.datasets import iSAIDDataset

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
# writes through .<name>.*.part and a rename, as the split-list converters
from split_layout import atomic_write_bytes  # noqa: E402

# id -> RGB colour; mmseg's copy of the official devkit palette
PALETTE: Tuple[Tuple[int, int, int], ...] = tuple(
    tuple(c) for c in iSAIDDataset.METAINFO['palette'])
CLASSES: Tuple[str, ...] = tuple(iSAIDDataset.METAINFO['classes'])
IMG_SUFFIX = '.png'
ANN_SUFFIX = '_instance_color_RGB.png'  # iSAIDDataset's seg_map_suffix
# split_iSAID.py: `if file_ == 'P1527' or file_ == 'P1530': continue`
OFFICIAL_EXCLUDE = ('P1527', 'P1530')
SPLITS = ('train', 'val', 'test')
META_FILE = '.isaid_converter.json'
_UNKNOWN = 255  # lookup value of colours outside the palette (no class id)

Window = Tuple[int, int, int, int]  # (y1, y2, x1, x2), end exclusive


# ----------------------------------------------------------------- pure parts
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


def patch_windows(height: int,
                  width: int,
                  patch_size: int = 896,
                  stride: int = 512) -> List[Window]:
    """Windows PFNet cuts from an image of ``height`` x ``width`` pixels.

    Reproduces ``tools/split_iSAID.py`` (lxtGH/PFSegNets, after the iSAID
    devkit): if the image is larger than ``patch_size`` on both sides,
    windows start at ``x, y`` in ``range(0, size, stride)`` (x outer, y
    inner); a window that would end past the border is shifted back to end
    on it; repeated windows (the official script rewrites the same file)
    are listed once. Otherwise the image is kept whole: one window covering
    it.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        patch_size (int): Side of the square patch. Default: 896.
        stride (int): Step between window starts (patch_size - overlap).
            Default: 512.

    Returns:
        list[tuple[int, int, int, int]]: ``(y1, y2, x1, x2)`` per window,
        end exclusive, in the official order.

    Raises:
        ValueError: If a size is not positive or ``stride`` is not in
            [1, patch_size] (a larger stride would leave gaps).
    """
    if min(height, width, patch_size) < 1:
        raise ValueError(f'sizes must be positive, got image {height}x'
                         f'{width}, patch {patch_size}')
    if not 1 <= stride <= patch_size:
        raise ValueError(
            f'stride must lie in [1, patch_size={patch_size}], got {stride}')
    if height <= patch_size or width <= patch_size:
        return [(0, height, 0, width)]
    windows: List[Window] = []
    for x in range(0, width, stride):
        x1 = min(x, width - patch_size)
        for y in range(0, height, stride):
            y1 = min(y, height - patch_size)
            window = (y1, y1 + patch_size, x1, x1 + patch_size)
            if window not in windows:
                windows.append(window)
    return windows


def patch_stem(stem: str, window: Window, height: int, width: int) -> str:
    """Output name (without suffix) of one window of image ``stem``.

    The official ``<stem>_<y1>_<y2>_<x1>_<x2>``, or ``stem`` itself for an
    image kept whole.
    """
    if window == (0, height, 0, width):
        return stem
    return '{}_{}_{}_{}_{}'.format(stem, *window)


# ------------------------------------------------------------------- sources
class Source(NamedTuple):
    """A file of the download: a path, or a member of a zip archive."""
    path: str
    member: Optional[str] = None

    def __str__(self) -> str:
        return f'{self.path}:{self.member}' if self.member else self.path

    def read(self, size: int = -1) -> bytes:
        if self.member is None:
            with open(self.path, 'rb') as f:
                return f.read(size)
        with zipfile.ZipFile(self.path) as archive:
            with archive.open(self.member) as f:
                return f.read(size)


class Pair(NamedTuple):
    """One source image, its colour mask (None for test) and its outputs."""
    split: str
    stem: str
    image: Source
    mask: Optional[Source]


def _classify(name: str) -> Tuple[Optional[str], Optional[str]]:
    """(kind, stem) of a file name: 'image', 'mask' or None."""
    if name.endswith(ANN_SUFFIX):
        return 'mask', name[:-len(ANN_SUFFIX)]
    # split_iSAID.py: images are the .png files without '_' in their name
    if name.endswith(IMG_SUFFIX) and '_' not in name:
        return 'image', name[:-len(IMG_SUFFIX)]
    return None, None


def _scan(folders: Sequence[str],
          kinds: Sequence[str]) -> Dict[str, Dict[str, Source]]:
    """Images/masks under ``folders`` (loose files and zip members, any depth).

    Returns ``{kind: {stem: Source}}``; a loose file wins over a zipped one
    of the same name (a download unzipped in place).

    Raises:
        ValueError: If one name occurs twice among the loose files, or twice
            among the zip members, naming both places.
    """
    loose: Dict[str, Dict[str, Source]] = {k: {} for k in kinds}
    zipped: Dict[str, Dict[str, Source]] = {k: {} for k in kinds}

    def add(table, kind, stem, source):
        if stem in table[kind] and table[kind][stem] != source:
            raise ValueError(f'{kind} {stem} occurs twice in the download: '
                             f'{table[kind][stem]} and {source}')
        table[kind][stem] = source

    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = osp.join(root, name)
                if name.lower().endswith('.zip'):
                    with zipfile.ZipFile(path) as archive:
                        members = archive.namelist()
                    for member in sorted(members):
                        base = member.rsplit('/', 1)[-1]
                        if member.startswith('__MACOSX/') \
                                or base.startswith('.'):
                            continue
                        kind, stem = _classify(base)
                        if kind in kinds:
                            add(zipped, kind, stem, Source(path, member))
                elif not name.startswith('.'):
                    kind, stem = _classify(name)
                    if kind in kinds:
                        add(loose, kind, stem, Source(path))
    return {k: {**zipped[k], **loose[k]} for k in kinds}


def find_pairs(src: str,
               split: str,
               exclude: Sequence[str] = OFFICIAL_EXCLUDE) -> List[Pair]:
    """Match the images and colour masks of one split of the download.

    Images and masks are looked for under ``SRC/<split>/images`` and
    ``SRC/<split>/Semantic_masks``, as loose ``.png`` files (any depth) or
    members of ``.zip`` archives there; a file is an image if its name has
    no ``_`` (as ``split_iSAID.py`` decides), a mask if it ends with
    ``_instance_color_RGB.png``; other files are ignored.

    Args:
        src (str): The download folder (``SRC``).
        split (str): 'train', 'val' or 'test' (test has no masks).
        exclude (Sequence[str]): Image stems to skip. Default: the official
            P1527 and P1530.

    Returns:
        list[Pair]: One per image, sorted by stem.

    Raises:
        FileNotFoundError: If ``SRC/<split>/images`` is missing or holds no
            image.
        ValueError: If an image has no mask or a mask no image (train/val),
            naming them, or a name occurs twice.
    """
    folder = osp.join(src, split)
    image_dir = osp.join(folder, 'images')
    mask_dir = osp.join(folder, 'Semantic_masks')
    if not osp.isdir(image_dir):
        raise FileNotFoundError(
            f'{image_dir} does not exist: SRC must hold <split>/images with '
            'the DOTA images (part*.zip or .png files)')
    with_masks = split != 'test'
    kinds = ('image', 'mask') if with_masks else ('image', )
    found = _scan([image_dir, mask_dir], kinds)
    images = found['image']
    if not images:
        raise FileNotFoundError(
            f'no image (P*.png, loose or in a .zip) found under {image_dir}')
    skip = set(exclude)
    if with_masks:
        masks = found['mask']
        no_mask = sorted(set(images) - set(masks) - skip)
        no_image = sorted(set(masks) - set(images) - skip)
        if no_mask or no_image:
            raise ValueError(
                f'{folder}: images without a colour mask (*{ANN_SUFFIX} '
                f'under {mask_dir} or {image_dir}): {no_mask[:10]}'
                f'{" ..." if len(no_mask) > 10 else ""}; masks without an '
                f'image: {no_image[:10]}'
                f'{" ..." if len(no_image) > 10 else ""}')
    return [
        Pair(split, stem, images[stem], masks[stem] if with_masks else None)
        for stem in sorted(images) if stem not in skip
    ]


# ---------------------------------------------------------------- conversion
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
            ``ann_dir/<split>`` under it (the folders must exist).
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
    return convert_pair(*task)


def _check_meta(out_dir: str, meta: dict) -> None:
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
    _check_meta(out_dir, dict(patch_size=patch_size, stride=stride))
    summary = {}
    for split in splits:
        os.makedirs(osp.join(out_dir, 'img_dir', split), exist_ok=True)
        if split != 'test':
            os.makedirs(osp.join(out_dir, 'ann_dir', split), exist_ok=True)
        print(f'iSAID {split}: {len(pairs[split])} images -> '
              f'{osp.join(out_dir, "img_dir", split)}')
        tasks = [(p, out_dir, patch_size, stride) for p in pairs[split]]
        if nproc > 1:
            counts = track_parallel_progress(_convert_task, tasks, nproc)
        else:
            bar = ProgressBar(len(tasks))
            counts = []
            for task in tasks:
                counts.append(_convert_task(task))
                bar.update()
        summary[split] = dict(
            images=len(tasks),
            written=sum(c[0] for c in counts),
            skipped=sum(c[1] for c in counts))
        print(f'\niSAID {split}: {summary[split]["written"]} files written, '
              f'{summary[split]["skipped"]} already there')
    return summary


def parse_args(argv=None):
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


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        convert(args.src, args.out_dir, args.splits, args.patch_size,
                args.stride, args.exclude, args.nproc)
    except (ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
