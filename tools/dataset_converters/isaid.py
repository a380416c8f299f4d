#!/usr/bin/env python
"""Prepare iSAID for mmseg as PFNet (PointFlow) trained on it.

RGB colour masks -> class ids 0-15 (the official palette), 896x896 patches
with a stride of 512 as PFNet's ``tools/split_iSAID.py`` cuts them, read from
the download zipped or unzipped. What it reproduces, the input and output
layouts and how it differs from mmseg's converter are documented in
:mod:`mmseg_ext.datasets.preparation.isaid`, which does the work.

Usage::

    python tools/dataset_converters/isaid.py SRC [-o OUT] [--patch-size 896]
        [--stride 512] [--splits train val] [--exclude P1527 P1530]
        [--nproc N]

Exit status 1, with ``error: <message>`` on stderr, for a bad download or
settings.
"""
import sys

from mmseg_ext.datasets.preparation.isaid import main

if __name__ == '__main__':
    sys.exit(main())
