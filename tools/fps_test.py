"""Benchmark segmentors built from mmseg configs: FPS, latency, memory, FLOPs.

``python tools/fps_test.py CONFIG [CONFIG ...] --height H --width W [...]``;
the implementation and the options are in :mod:`mmseg_ext.benchmark.cli`.
"""
from mmseg_ext.benchmark.cli import main

if __name__ == '__main__':
    main()
