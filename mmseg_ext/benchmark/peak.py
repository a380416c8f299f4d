"""The conv ceilings: how fast this machine runs one dense 3x3 convolution.

The probe is one 3x3 convolution 256 -> 256 channels with padding 1 on a
(1, 256, 128, 256) input, timed per precision on every runtime fps_test's
rows use, each with ``torch.get_num_threads()`` threads:

- torch: ``nn.Conv2d`` in channels-last memory format (oneDNN's fastest
  CPU layout), fp32 and bf16 (weights and input cast, no autocast);
- ONNX Runtime and OpenVINO (CPU): the same convolution as a one-node ONNX
  graph, fp32; on OpenVINO also bf16 (its bf16 inference hint, where the
  CPU plugin lists BF16); and int8: the graph quantized with
  ``onnxruntime.quantization.quantize_static`` (QDQ, per-channel int8
  weights, uint8 activations: the U8S8 form ONNX Runtime's x86 kernels
  prefer, calibrated on the probe input), which OpenVINO reads as its own
  int8 FakeQuantize form, as NNCF writes it.

No kernel is ours: each runtime picks its own for this ISA (AVX512, VNNI,
AMX). A precision's ceiling is its fastest runtime. The unit is
multiply-adds per second (one multiply-add = one FLOP, as fps_test's
GFLOPs count them with mmengine's analysis), so a row's ``GFLOPs x batch /
median latency / ceiling`` is the fraction of the ceiling of its precision
it reaches. On the 2-core AMD EPYC (Zen 4, AVX512-VNNI and AVX512-BF16, no
AMX) of this project's machine, under load, one run gave fp32 94 (torch),
bf16 216 (torch), int8 179 (ONNX Runtime) / 278 (OpenVINO) GFLOP/s.
"""
import logging
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

CHANNELS, HEIGHT, WIDTH, KERNEL = 256, 128, 256, 3
PROBE_SHAPE = (CHANNELS, HEIGHT, WIDTH)
PROBE_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
PRECISIONS = ('fp32', 'bf16', 'int8')
RUNTIMES = ('onnxruntime', 'openvino')


def probe_macs(shape: Tuple[int, int, int] = PROBE_SHAPE) -> int:
    """Multiply-adds of the probe conv on ``shape`` = (C, H, W):
    C_out * C_in * k * k * H * W."""
    channels, height, width = shape
    return channels * channels * KERNEL * KERNEL * height * width


def describe_probe(shape: Tuple[int, int, int] = PROBE_SHAPE) -> str:
    channels, height, width = shape
    return (f'3x3 conv {channels}->{channels} on {height}x{width}, batch 1, '
            '1 multiply-add = 1 FLOP')


def median_latency(run: Callable[[], object],
                   warmup: int,
                   iters: int,
                   sync: Callable[[], None] = lambda: None) -> float:
    """Median of ``iters`` timed calls of ``run`` after ``warmup`` untimed
    ones (the runtimes pick their kernels on the first), in seconds."""
    times = []
    for i in range(warmup + iters):
        sync()
        start = time.perf_counter()
        run()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _check(precisions: Sequence[str], iters: int) -> None:
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown or iters < 1:
        raise ValueError(f'precisions must be out of {PRECISIONS} and '
                         f'iters >= 1, got {list(precisions)}, {iters}')


def probe_conv_peak(
        device: str = 'cpu',
        precisions: Sequence[str] = ('fp32', 'bf16'),
        warmup: int = 1,
        iters: int = 3,
        shape: Tuple[int, int, int] = PROBE_SHAPE) -> Dict[str, float]:
    """Median GFLOP/s (1 multiply-add = 1 FLOP) of the probe conv in torch
    per precision.

    Args:
        device (str): Where to run it (CUDA is synchronised per run).
        precisions (Sequence[str]): Out of ``'fp32'``, ``'bf16'``.
        warmup (int): Untimed runs (oneDNN picks its kernel on the first).
        iters (int): Timed runs; the median latency is used.
        shape (tuple[int, int, int]): (C, H, W) of the probe input.

    Returns:
        dict: ``{precision: GFLOP/s}``.

    Raises:
        ValueError: For a precision not in :data:`PROBE_DTYPES` (int8 is
            probed through the runtimes, :func:`probe_runtime_peaks`) or
            ``iters < 1``.
    """
    if any(p not in PROBE_DTYPES for p in precisions) or iters < 1:
        raise ValueError(f'precisions must be out of {tuple(PROBE_DTYPES)} '
                         f'and iters >= 1, got {list(precisions)}, {iters}')
    device = torch.device(device)
    channels, height, width = shape
    sync = ((lambda: torch.cuda.synchronize(device))
            if device.type == 'cuda' else (lambda: None))
    ceiling = {}
    for precision in precisions:
        dtype = PROBE_DTYPES[precision]
        conv = nn.Conv2d(channels, channels, KERNEL, padding=KERNEL // 2)
        conv = conv.to(device, dtype, memory_format=torch.channels_last)
        x = torch.randn(
            1, channels, height, width, device=device,
            dtype=dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            latency = median_latency(lambda: conv(x), warmup, iters, sync)
        ceiling[precision] = probe_macs(shape) / latency / 1e9
    return ceiling


def write_probe_onnx(path: str,
                     shape: Tuple[int, int, int] = PROBE_SHAPE,
                     seed: int = 0) -> np.ndarray:
    """Write the probe conv as a one-node fp32 ONNX graph (input
    ``input`` (1, C, H, W), output ``output``) to ``path``; return a random
    input for it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    channels, height, width = shape
    rng = np.random.default_rng(seed)
    fan_in = channels * KERNEL * KERNEL
    weight = rng.standard_normal(
        (channels, channels, KERNEL, KERNEL)) / np.sqrt(fan_in)
    dims = [1, channels, height, width]
    graph = helper.make_graph(
        [
            helper.make_node(
                'Conv', ['input', 'weight', 'bias'], ['output'],
                kernel_shape=[KERNEL, KERNEL],
                pads=[KERNEL // 2] * 4)
        ], 'conv_ceiling_probe',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info('output', TensorProto.FLOAT, dims)], [
            numpy_helper.from_array(weight.astype(np.float32), 'weight'),
            numpy_helper.from_array(np.zeros(channels, np.float32), 'bias')
        ])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8  # readable by every runtime of requirements-deploy
    onnx.save(model, path)
    return rng.standard_normal(dims).astype(np.float32)


def quantize_probe(fp32_path: str, int8_path: str, x: np.ndarray) -> None:
    """``onnxruntime.quantization.quantize_static`` of the probe graph: QDQ,
    per-channel int8 weights, uint8 activations, calibrated on ``x``."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                          QuantType, quantize_static)

    class OneInput(CalibrationDataReader):

        def __init__(self):
            self.inputs = iter([{'input': x}])

        def get_next(self):
            return next(self.inputs, None)

    # quantize_static warns on the root logger that the graph was not
    # pre-processed (shape inference): a one-node graph needs none
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_static(
            fp32_path,
            int8_path,
            OneInput(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8)
    finally:
        logging.disable(previous)


def _runner(runtime: str, path: str, precision: str, threads: int) -> Callable:
    if runtime == 'onnxruntime':
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
        return lambda x: session.run(None, {'input': x})
    import openvino as ov
    core = ov.Core()
    # always an explicit hint (OpenVINO's CPU default is bf16 where the CPU
    # has it); a quantized conv runs int8 whatever the hint, f32 is for
    # what stays float
    hint = 'bf16' if precision == 'bf16' else 'f32'
    compiled = core.compile_model(
        core.read_model(path), 'CPU', {
            'INFERENCE_PRECISION_HINT': hint,
            'INFERENCE_NUM_THREADS': threads
        })
    request = compiled.create_infer_request()
    return lambda x: request.infer({0: x})


def openvino_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin lists BF16 among its capabilities."""
    import openvino as ov
    return 'BF16' in ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')


def probe_runtime_peaks(precisions: Sequence[str] = PRECISIONS,
                        runtimes: Sequence[str] = RUNTIMES,
                        warmup: int = 1,
                        iters: int = 3,
                        shape: Tuple[int, int, int] = PROBE_SHAPE,
                        threads: int = 0) -> Dict[str, Dict[str, float]]:
    """Median GFLOP/s of the probe conv as an ONNX graph on the CPU
    runtimes: fp32 (the graph), bf16 (OpenVINO's bf16 hint, where its CPU
    plugin has BF16), int8 (the graph quantized by
    :func:`quantize_probe`, which needs ONNX Runtime).

    Args:
        precisions (Sequence[str]): Out of :data:`PRECISIONS`.
        runtimes (Sequence[str]): Out of ``'onnxruntime'``, ``'openvino'``
            (each must be installed).
        warmup (int): Untimed runs.
        iters (int): Timed runs; the median latency is used.
        shape (tuple[int, int, int]): (C, H, W) of the probe input.
        threads (int): Runtime threads; 0: ``torch.get_num_threads()``.

    Returns:
        dict: ``{precision: {runtime: GFLOP/s}}`` for the combinations
        that run (ONNX Runtime has no bf16).

    Raises:
        ValueError: For an unknown precision or runtime, or ``iters < 1``.
        ImportError: If a runtime (or, for int8, ``onnxruntime``) is not
            installed.
    """
    _check(precisions, iters)
    if any(r not in RUNTIMES for r in runtimes):
        raise ValueError(
            f'runtimes must be out of {RUNTIMES}, got {list(runtimes)}')
    threads = threads or torch.get_num_threads()
    peaks: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix='conv_probe_') as tmp:
        files = dict(fp32=osp.join(tmp, 'conv.onnx'))
        x = write_probe_onnx(files['fp32'], shape)
        if 'int8' in precisions:
            files['int8'] = osp.join(tmp, 'conv.qdq.onnx')
            quantize_probe(files['fp32'], files['int8'], x)
        files['bf16'] = files['fp32']
        for precision in precisions:
            for runtime in runtimes:
                if precision == 'bf16' and (runtime != 'openvino'
                                            or not openvino_has_bf16()):
                    continue
                run = _runner(runtime, files[precision], precision, threads)
                latency = median_latency(lambda: run(x), warmup, iters)
                peaks.setdefault(
                    precision, {})[runtime] = probe_macs(shape) / latency / 1e9
    return peaks


def probe_ceilings(device: str = 'cpu',
                   precisions: Sequence[str] = PRECISIONS,
                   warmup: int = 1,
                   iters: int = 3,
                   shape: Tuple[int, int, int] = PROBE_SHAPE) -> dict:
    """The conv ceiling of every precision (see the module docstring): the
    fastest of torch and the installed CPU runtimes.

    The runtimes are probed on a CPU ``device`` only; int8 needs ONNX
    Runtime (it quantizes the probe) and is skipped, with the reason,
    without it or on a CUDA ``device``.

    Returns:
        dict: ``probe`` (what was timed), ``gflops`` (``{precision:
        GFLOP/s}``, the fastest runtime), ``runtimes`` (``{precision:
        {runtime: GFLOP/s}}``) and ``skipped`` (``{precision: reason}``).

    Raises:
        ValueError: For a precision not in :data:`PRECISIONS` or
            ``iters < 1``.
    """
    _check(precisions, iters)
    from importlib.util import find_spec
    float_precisions = [p for p in precisions if p in PROBE_DTYPES]
    runtimes = {
        p: {
            'torch': v
        }
        for p, v in probe_conv_peak(device, float_precisions, warmup, iters,
                                    shape).items()
    }
    skipped = {}
    installed = [r for r in RUNTIMES if find_spec(r) is not None]
    probed = list(precisions)
    if torch.device(device).type != 'cpu':
        installed = []
        if 'int8' in precisions:
            skipped['int8'] = (f'device {device}: the int8 probe runs on '
                               'the CPU runtimes')
    elif 'int8' in precisions and 'onnxruntime' not in installed:
        probed.remove('int8')
        skipped['int8'] = ('onnxruntime (which quantizes the probe) is not '
                           'installed')
    if installed:
        for precision, peaks in probe_runtime_peaks(probed, installed, warmup,
                                                    iters, shape).items():
            runtimes.setdefault(precision, {}).update(peaks)
    return dict(
        probe=describe_probe(shape),
        gflops={
            p: max(runtimes[p].values())
            for p in PRECISIONS if p in runtimes
        },
        runtimes={p: runtimes[p]
                  for p in PRECISIONS if p in runtimes},
        skipped=skipped)
