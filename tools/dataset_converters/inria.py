#!/usr/bin/env python
"""Inria Aerial -> ``InriaAerialDataset`` layout by FCtL's split.

Ground truth 0/255 -> 0/1, GeoTIFF images hard-linked (or ``--copy``), by
FCtL's ``txt_1/`` lists. The rules, input and output layouts are documented
in :mod:`mmseg_ext.datasets.preparation.inria`, which does the work.

Usage::

    python tools/dataset_converters/inria.py /data/AerialImageDataset \\
        --splits-dir /data/FCtL/txt_1 -o data/inria_aerial [--nproc 4]
"""
import sys

from mmseg_ext.datasets.preparation.cli import run
from mmseg_ext.datasets.preparation.inria import main

if __name__ == '__main__':
    sys.exit(run(main))
