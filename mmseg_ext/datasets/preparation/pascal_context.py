"""PASCAL-Context (VOC2010) labels for mmseg's PascalContextDataset(59).

The library behind ``tools/dataset_converters/pascal_context.py``.

mmseg's own converter (``tools/dataset_converters/pascal_context.py`` in the
mmsegmentation repository) needs the PASCAL-in-Detail API (``from detail
import Detail``), which is not on PyPI (the PyPI package called ``detail`` is
unrelated) and must be built from its GitHub sources with Cython. This script
reads the same input, ``trainval_merged.json``, with numpy alone and writes the
same output::

    VOCdevkit/VOC2010/
    ├── JPEGImages/<name>.jpg                      (from the VOC2010 tar)
    ├── SegmentationClassContext/<name>.png        (written here)
    └── ImageSets/SegmentationContext/{train,val}.txt   (written here)

Each PNG holds one uint8 label per pixel: 0 = background (every pixel outside
the 59 classes), 1..59 = the 59 PASCAL-Context classes in alphabetical order
(``CONTEXT59``, the order of mmseg's ``PascalContextDataset59`` classes). The
60-class dataset (``PascalContextDataset``) reads the PNGs as they are; the
59-class one reads them with ``reduce_zero_label=True`` (0 -> 255 ignored,
k -> k - 1).

How the class map is built (PASCAL-in-Detail ``Detail.getMask(img)``, file
``PythonAPI/detail/__init__.py``): start from zeros, then for every entry
of ``annos_segmentation`` whose ``image_id`` is the image's, in file order,
set the pixels of its decoded RLE ``segmentation`` to its ``category_id``
(later entries overwrite earlier ones). ``category_id`` is the label's id in
the 459-label PASCAL-Context list; mmseg maps the 59 kept ids plus 0,
sorted, to 0..59 and asserts that no other id occurs. Images are split by
their ``phase`` key.

Outputs are written to a temporary name and renamed when complete; PNGs that
already exist are skipped, so an interrupted run can be resumed. The JSON and
the images are only read.
"""
import argparse
import json
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import mkdir_or_exist
from PIL import Image

from mmseg_ext.utils.atomic_io import atomic_file, remove_stale_temps
from .progress import track

# (id in the 459-label PASCAL-Context list, name): the 59 classes of the
# "59-class" benchmark. Sorted by id, which is also alphabetical order, so
# the output label of a class is 1 + its position here.
CONTEXT59: Tuple[Tuple[int, str],
                 ...] = ((2, 'aeroplane'), (9, 'bag'), (18, 'bed'),
                         (19, 'bedclothes'), (22, 'bench'), (23, 'bicycle'),
                         (25, 'bird'), (31, 'boat'), (33, 'book'),
                         (34, 'bottle'), (44, 'building'), (45, 'bus'),
                         (46, 'cabinet'), (59, 'car'), (65, 'cat'),
                         (68, 'ceiling'), (72, 'chair'), (80, 'cloth'),
                         (85, 'computer'), (98, 'cow'), (104, 'cup'),
                         (105, 'curtain'), (113, 'dog'), (115, 'door'),
                         (144, 'fence'), (158, 'floor'), (159, 'flower'),
                         (162, 'food'), (187, 'grass'), (189, 'ground'),
                         (207, 'horse'), (220, 'keyboard'), (232, 'light'),
                         (258, 'motorbike'), (259, 'mountain'), (260, 'mouse'),
                         (284, 'person'), (295, 'plate'), (296, 'platform'),
                         (308, 'pottedplant'), (324, 'road'), (326, 'rock'),
                         (347, 'sheep'), (349, 'shelves'), (354, 'sidewalk'),
                         (355, 'sign'), (360, 'sky'), (366, 'snow'), (368,
                                                                      'sofa'),
                         (397, 'table'), (415, 'track'), (416, 'train'),
                         (420, 'tree'), (424, 'truck'), (427, 'tvmonitor'),
                         (440, 'wall'), (445, 'water'), (454,
                                                         'window'), (458,
                                                                     'wood'))
UNMAPPED = 255
# category id -> output label; ids outside the 59 (and 0) stay UNMAPPED
LABEL_OF_ID = np.full(max(i for i, _ in CONTEXT59) + 1, UNMAPPED, np.uint8)
LABEL_OF_ID[0] = 0
for _label, (_id, _) in enumerate(CONTEXT59, start=1):
    LABEL_OF_ID[_id] = _label
SPLITS = ('train', 'val')


def rle_counts_from_string(s: str) -> List[int]:
    """Run lengths of a COCO compressed RLE string (``rleFrString``).

    Each count is written in 5-bit groups (least significant first) as
    characters ``chr(48 + group)``; bit 0x20 of a group means "more groups
    follow", bit 0x10 of the last group is the sign; from the fourth count on
    the value stored is the difference to the count two places before.
    """
    counts: List[int] = []
    pos = 0
    while pos < len(s):
        value, shift, more = 0, 0, True
        while more:
            c = ord(s[pos]) - 48
            value |= (c & 0x1f) << (5 * shift)
            more = bool(c & 0x20)
            pos += 1
            shift += 1
            if not more and c & 0x10:
                value |= -1 << (5 * shift)
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def rle_counts_to_string(counts: Sequence[int]) -> str:
    """Inverse of :func:`rle_counts_from_string` (COCO ``rleToString``)."""
    chars = []
    for i, count in enumerate(counts):
        value = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = value & 0x1f
            value >>= 5
            more = value != -1 if c & 0x10 else value != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return ''.join(chars)


def rle_decode(rle: dict) -> np.ndarray:
    """Binary (H, W) uint8 mask of a COCO RLE ``{'size': [H, W], 'counts'}``.

    ``counts`` is a compressed string or a list of run lengths; runs alternate
    0, 1, 0, ... starting with zeros, over the pixels in column-major order.

    Raises:
        ValueError: If the runs do not add up to H * W.
    """
    h, w = (int(v) for v in rle['size'])
    counts = rle['counts']
    if isinstance(counts, (bytes, str)):
        counts = rle_counts_from_string(
            counts.decode() if isinstance(counts, bytes) else counts)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != h * w or (counts < 0).any():
        raise ValueError(f'RLE runs sum to {counts.sum()}, not {h}x{w}')
    values = np.arange(len(counts), dtype=np.int64) % 2
    return np.repeat(values.astype(np.uint8), counts).reshape((h, w),
                                                              order='F')


def rle_encode(mask: np.ndarray) -> dict:
    """Compressed COCO RLE of a binary (H, W) mask (inverse of rle_decode)."""
    flat = np.asarray(mask, dtype=bool).ravel(order='F')
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return dict(size=list(mask.shape), counts=rle_counts_to_string(counts))


def class_id_mask(img: dict, anns: Sequence[dict]) -> np.ndarray:
    """(H, W) int64 map of 459-label category ids, as ``Detail.getMask``.

    Args:
        img: The image's entry of ``images`` (``height``, ``width``).
        anns: Its ``annos_segmentation`` entries, in file order; later ones
            overwrite earlier ones.
    """
    mask = np.zeros((int(img['height']), int(img['width'])), np.int64)
    for ann in anns:
        m = rle_decode(ann['segmentation'])
        if m.shape != mask.shape:
            raise ValueError(
                f'annotation {ann.get("id")} of {img["file_name"]} is '
                f'{m.shape[0]}x{m.shape[1]}, the image {mask.shape[0]}x'
                f'{mask.shape[1]}')
        mask[m.astype(bool)] = ann['category_id']
    return mask


def to_context_labels(id_mask: np.ndarray, name: str = '') -> np.ndarray:
    """Map 459-label ids to 0 (background) .. 59 (uint8), as mmseg does.

    Raises:
        ValueError: Naming ``name`` and the ids, if ids other than 0 and the
            59 of ``CONTEXT59`` occur (mmseg's converter asserts the same).
    """
    ids = np.unique(id_mask)
    bad = [
        int(i) for i in ids
        if i < 0 or i >= LABEL_OF_ID.size or LABEL_OF_ID[i] == UNMAPPED
    ]
    if bad:
        raise ValueError(
            f'{name}: category ids {bad} are not among the 59 '
            'PASCAL-Context classes (is this trainval_merged.json?)')
    return LABEL_OF_ID[id_mask]


def load_annotations(
        json_path: str) -> Tuple[Dict[str, List[dict]], Dict[int, List[dict]]]:
    """Images per phase and segmentation entries per image id, file order.

    Raises:
        KeyError: Naming ``json_path`` and the missing key.
    """
    with open(json_path) as f:
        data = json.load(f)
    try:
        images = data['images']
        segms = data['annos_segmentation']
        by_phase: Dict[str, List[dict]] = {s: [] for s in SPLITS}
        for img in images:
            if img['phase'] in by_phase:
                by_phase[img['phase']].append(img)
            img['file_name'], img['image_id'], img['height'], img['width']
        by_image: Dict[int, List[dict]] = {}
        for ann in segms:
            ann['segmentation'], ann['category_id']
            by_image.setdefault(ann['image_id'], []).append(ann)
    except KeyError as e:
        raise KeyError(f'{json_path}: missing key {e} (expected the '
                       'PASCAL-in-Detail trainval_merged.json layout)') from e
    return by_phase, by_image


def write_png(array: np.ndarray, path: str) -> None:
    """Write an (H, W) uint8 label map as a one-channel PNG, atomically."""
    with atomic_file(path) as f:
        Image.fromarray(array).save(f, format='PNG')


def write_lines(lines: Sequence[str], path: str) -> None:
    """Write one line per item, atomically."""
    with atomic_file(path, 'w') as f:
        f.writelines(line + '\n' for line in lines)


def convert_one(img: dict, by_image: Dict[int, List[dict]],
                out_dir: str) -> str:
    """Write ``<out_dir>/<stem>.png`` for one image (skip if present)."""
    stem = osp.splitext(osp.basename(img['file_name']))[0]
    path = osp.join(out_dir, stem + '.png')
    if not osp.exists(path):
        ids = class_id_mask(img, by_image.get(img['image_id'], []))
        write_png(to_context_labels(ids, img['file_name']), path)
    return stem


def convert(devkit_path: str,
            json_path: str,
            out_dir: str = None,
            nproc: int = 1) -> Dict[str, List[str]]:
    """Write the label PNGs and split lists; return the names per split."""
    voc = osp.join(devkit_path, 'VOC2010')
    out_dir = out_dir or osp.join(voc, 'SegmentationClassContext')
    split_dir = osp.join(voc, 'ImageSets', 'SegmentationContext')
    mkdir_or_exist(out_dir)
    mkdir_or_exist(split_dir)
    by_phase, by_image = load_annotations(json_path)
    pngs = {
        osp.splitext(osp.basename(img['file_name']))[0] + '.png'
        for split in SPLITS
        for img in by_phase[split]
    }
    for folder, own in ((out_dir, pngs), (split_dir,
                                          {f'{s}.txt'
                                           for s in SPLITS})):
        removed = remove_stale_temps(folder, names=own)
        if removed:
            print(f'removed {len(removed)} temporary file(s) an interrupted '
                  f'run left in {folder}')
    names = {}
    for split in SPLITS:
        fn = partial(convert_one, by_image=by_image, out_dir=out_dir)
        names[split] = sorted(track(fn, by_phase[split], nproc))
        write_lines(names[split], osp.join(split_dir, f'{split}.txt'))
    return names


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``tools/dataset_converters/pascal_context.py``."""
    parser = argparse.ArgumentParser(
        description='Convert PASCAL-Context (trainval_merged.json) to label '
        'PNGs for mmseg, without the PASCAL-in-Detail API')
    parser.add_argument('devkit_path', help='VOCdevkit folder (has VOC2010/)')
    parser.add_argument('json_path', help='trainval_merged.json')
    parser.add_argument(
        '-o',
        '--out_dir',
        help='label folder (default VOC2010/SegmentationClassContext)')
    parser.add_argument('--nproc', type=int, default=1, help='processes')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run ``tools/dataset_converters/pascal_context.py``.

    Raises:
        FileNotFoundError: If the devkit folder or the JSON is missing.
    """
    args = parse_args(argv)
    for path in (args.devkit_path, args.json_path):
        if not osp.exists(path):
            raise FileNotFoundError(f'{path} does not exist')
    names = convert(args.devkit_path, args.json_path, args.out_dir, args.nproc)
    print(f'Done: {len(names["train"])} train, {len(names["val"])} val')
