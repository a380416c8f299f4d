"""TensorRT int8: entropy calibration with a calibration cache (CUDA only).

Written against the TensorRT 10 Python API (``tensorrt`` >= 10.0:
``IInt8EntropyCalibrator2``, ``create_network(0)`` with explicit batch,
``build_serialized_network``, ``BuilderFlag.INT8``; implicit quantization
is deprecated from TensorRT 10.1 but still built). The calibrator feeds the
calibration images of :func:`~mmseg_ext.deploy.quantize.calibration_inputs`
one per batch from CUDA memory and writes the scales to
``end2end.int8.calib``; an engine is then built from that cache alone
(:func:`configure_int8`, also used by
:class:`~mmseg_ext.deploy.backends.BackendModel` on another GPU). The float
layers of :mod:`.quantize_scope` are pinned to fp32
(``layer.precision``, ``BuilderFlag.OBEY_PRECISION_CONSTRAINTS``); TensorRT
names its layers after the ONNX nodes.

Without a CUDA GPU, or without the ``tensorrt`` package, every entry point
refuses before any work (``ValueError`` / ``ImportError``); nothing here is
a test dependency.
"""
import os
import os.path as osp
from typing import Sequence

import numpy as np
import torch


def _require_gpu():
    if not torch.cuda.is_available():
        raise ValueError('TensorRT int8 calibration needs a CUDA GPU (none '
                         'is visible); quantize for openvino or onnxruntime '
                         'on a CPU')
    from .backends import _import
    return _import('tensorrt')


def entropy_calibrator(trt, inputs: Sequence[np.ndarray], cache_file: str):
    """An ``IInt8EntropyCalibrator2`` over ``inputs`` (or, with no inputs,
    over the cache alone) writing ``cache_file``."""

    class Calibrator(trt.IInt8EntropyCalibrator2):

        def __init__(self):
            super().__init__()
            self.items = iter(inputs)
            self.current = None  # keeps the CUDA tensor alive

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            x = next(self.items, None)
            if x is None:
                return None
            self.current = torch.from_numpy(x).cuda().contiguous()
            return [int(self.current.data_ptr())]

        def read_calibration_cache(self):
            if osp.isfile(cache_file):
                with open(cache_file, 'rb') as f:
                    return f.read()
            return None

        def write_calibration_cache(self, cache):
            with open(cache_file + '.partial', 'wb') as f:
                f.write(bytes(cache))
            os.replace(cache_file + '.partial', cache_file)

    return Calibrator()


def configure_int8(
    trt,
    network,
    config,
    model_file: str,
    inputs: Sequence[np.ndarray] = (),
    ignored: Sequence[str] = ()
) -> None:
    """Set ``config`` up for int8 with the calibration cache beside
    ``model_file`` (``end2end.int8.calib``) or calibration on ``inputs``;
    layers named in ``ignored`` stay fp32.

    Raises:
        FileNotFoundError: If there is neither a cache nor an input.
    """
    cache = osp.splitext(model_file)[0] + '.int8.calib'
    if not inputs and not osp.isfile(cache):
        raise FileNotFoundError(
            f'{cache} not found: calibrate with tools/deploy/deploy.py and '
            'a tensorrt int8 deploy config first')
    config.set_flag(trt.BuilderFlag.INT8)
    config.int8_calibrator = entropy_calibrator(trt, inputs, cache)
    if ignored:
        names = set(ignored)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if layer.name in names:
                layer.precision = trt.float32
                for j in range(layer.num_outputs):
                    layer.set_output_type(j, trt.float32)


def calibrate_tensorrt(onnx_file: str,
                       inputs: Sequence[np.ndarray],
                       cache_file: str,
                       ignored: Sequence[str] = ()) -> dict:
    """Calibrate ``onnx_file`` (static shape) on ``inputs``: writes
    ``cache_file`` (``end2end.int8.calib``) and the engine
    ``end2end.int8.engine`` beside it.

    Raises:
        ValueError: Without a CUDA GPU; ImportError: without tensorrt.
        RuntimeError: If TensorRT cannot parse or build the model.
    """
    trt = _require_gpu()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_file):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise RuntimeError(f'TensorRT cannot parse {onnx_file}: ' +
                           '; '.join(errors))
    config = builder.create_builder_config()
    configure_int8(trt, network, config, onnx_file, inputs, ignored)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f'TensorRT failed to build int8 {onnx_file}')
    engine = osp.splitext(onnx_file)[0] + '.int8.engine'
    with open(engine + '.partial', 'wb') as f:
        f.write(bytes(serialized))
    os.replace(engine + '.partial', engine)
    return dict(
        tool=f'tensorrt {trt.__version__} IInt8EntropyCalibrator2',
        cache=osp.basename(cache_file),
        engine=osp.basename(engine))
