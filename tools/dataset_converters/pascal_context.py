"""PASCAL-Context (VOC2010) labels for mmseg's PascalContextDataset(59).

Reads PASCAL-in-Detail's ``trainval_merged.json`` with numpy alone (mmseg's
own converter needs the ``detail`` API, which is not on PyPI) and writes
``VOC2010/SegmentationClassContext/<name>.png`` (0 = background, 1..59) and
``VOC2010/ImageSets/SegmentationContext/{train,val}.txt``. The rules are
documented in :mod:`mmseg_ext.datasets.preparation.pascal_context`, which
does the work.

Usage::

    python tools/dataset_converters/pascal_context.py data/VOCdevkit \\
        data/VOCdevkit/VOC2010/trainval_merged.json [--nproc 8]
"""
import sys

from mmseg_ext.datasets.preparation.cli import run
from mmseg_ext.datasets.preparation.pascal_context import main

if __name__ == '__main__':
    sys.exit(run(main))
