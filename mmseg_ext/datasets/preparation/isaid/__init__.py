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
``tools/convert_iSAID_mask2graymask.py``, copied unchanged into
Jittor/PFSegNets-Jittor, PFNet's Jittor port; the README's order, split then
convert, gives the same result as convert then split):

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
mmseg does not list; :mod:`mmseg_ext.utils.atomic_io`) and renamed when
complete, so an existing output is whole and a re-run skips it (images whose
outputs all exist are not even decoded). A source image is converted
completely before any of its outputs is written, so a bad mask leaves nothing
of that image behind. ``OUT`` remembers the patch size and stride
(``OUT/.isaid_converter.json``) and refuses to mix patches of other settings.

The modules by role: :mod:`.sources` (the download: zip/tree scanning,
image-mask pairs), :mod:`.palette` (colours -> ids), :mod:`.patches`
(windows, names), :mod:`.conversion` (per-image workers, the settings file,
:func:`convert` and the command line of
``tools/dataset_converters/isaid.py``).
"""
from .conversion import (META_FILE, SPLITS, convert, convert_pair, main,
                         parse_args, png_size)
from .palette import CLASSES, PALETTE, rgb_to_ids
from .patches import Window, patch_stem, patch_windows
from .sources import (ANN_SUFFIX, IMG_SUFFIX, OFFICIAL_EXCLUDE, Pair, Source,
                      find_pairs)

__all__ = [
    'ANN_SUFFIX', 'CLASSES', 'IMG_SUFFIX', 'META_FILE', 'OFFICIAL_EXCLUDE',
    'PALETTE', 'Pair', 'SPLITS', 'Source', 'Window', 'convert', 'convert_pair',
    'find_pairs', 'main', 'parse_args', 'patch_stem', 'patch_windows',
    'png_size', 'rgb_to_ids'
]
