#!/usr/bin/env python
"""DeepGlobe Land Cover -> ``DeepGlobeDataset`` layout by the FCtL/GLNet split.

RGB colour masks -> class ids 0-6 (each channel binarised at 128), images
hard-linked (or ``--copy``), by GLNet's ``train.txt`` / ``crossvali.txt`` /
``test.txt``. The rules, input and output layouts are documented in
:mod:`mmseg_ext.datasets.preparation.deepglobe`, which does the work.

Usage::

    python tools/dataset_converters/deepglobe.py /data/deepglobe \\
        --splits-dir /data/GLNet -o data/deepglobe_landcover [--nproc 4]
"""
import sys

from mmseg_ext.datasets.preparation.cli import run
from mmseg_ext.datasets.preparation.deepglobe import main

if __name__ == '__main__':
    sys.exit(run(main))
