#!/usr/bin/env python
"""Segment a video and write the overlays, with the model FPS on each frame.

Usage::

    python tools/video_demo.py VIDEO CONFIG CHECKPOINT --out out.mp4 \\
        [--device cuda:0] [--opacity 0.5] [--show]

``VIDEO`` is a file OpenCV reads, or a camera index (``0``). The library
is ``mmseg_ext.apis.video`` (``segment_video``).
"""
import sys

from mmseg_ext.apis.video import main

if __name__ == '__main__':
    sys.exit(main())
