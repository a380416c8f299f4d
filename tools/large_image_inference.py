#!/usr/bin/env python
"""Segment a raster of any size tile by tile into a class GeoTIFF.

Usage::

    python tools/large_image_inference.py CONFIG CKPT_OR_EXPORT_DIR IMAGE \\
        --out OUT.tif [--tile H [W]] [--overlap 256] [--batch-size N] \\
        [--blend uniform|distance] [--mode slide|whole] [--bands 1,2,3] \\
        [--confidence CONF.tif] [--overlay OVERLAY.tif] [--resume] \\
        [--overwrite]

Sharded across processes: ``torchrun --nproc-per-node N
tools/large_image_inference.py ...``. The library is
``mmseg_ext.apis.large_image_cli``.
"""
import sys

from mmseg_ext.apis.large_image_cli import main

if __name__ == '__main__':
    sys.exit(main())
