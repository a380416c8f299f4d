"""Benchmark segmentors built from mmseg configs: FPS, latency, memory, FLOPs.

``tools/fps_test.py`` is the command line (:func:`.cli.main`). The pieces:

- :mod:`.forwards`: how one forward is run (``tensor``: the network's logits,
  ``predict``: the whole test-time path); a backend registers another with
  :func:`register_forward`;
- :mod:`.measure`: build the model, make the input, the timed loop, peak
  memory, the FLOPs count, and :func:`benchmark` composing them per config;
- :mod:`.table`: the Markdown table and the ``--out`` file;
- :mod:`.hardware`: what a run ran on (CPU, ISA flags, runtime versions),
  the table's header and the JSON's ``meta``;
- :mod:`.peak`: the fp32 / bf16 / int8 conv ceilings (``--probe-peak``);
- :mod:`.precision`: ``--precision auto`` (accuracy gates of
  ``deploy.json``, ISA, ceilings);
- :mod:`.suite`: several configs x backends (eager, ONNX Runtime,
  OpenVINO, TensorRT; int8 exports) in one run.
"""
from .forwards import FORWARDS, make_forward, register_forward
from .measure import (PeakMemory, benchmark, build_model, count_gflops,
                      make_inputs, time_forward)
from .table import COLUMNS, format_table, write_results

__all__ = [
    'FORWARDS', 'make_forward', 'register_forward', 'PeakMemory', 'benchmark',
    'build_model', 'count_gflops', 'make_inputs', 'time_forward', 'COLUMNS',
    'format_table', 'write_results'
]
