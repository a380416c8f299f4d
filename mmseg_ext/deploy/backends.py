"""Run an exported segmentor with an inference runtime.

:class:`BackendModel` wraps one exported graph (``end2end.onnx`` from
:func:`mmseg_ext.deploy.export.export_onnx`, or OpenVINO's ``end2end.xml``)
behind one call: a normalised image batch (N, 3, H, W) float32 in, the
logits (N, C, H, W) float32 out, as ``model(x, mode='tensor')`` resized to
the input gives.

Backends and precisions (``ValueError`` for any other combination):

========================  ===================  ===========================
backend                   device               precision
========================  ===================  ===========================
``onnxruntime``           ``cpu``, ``cuda``    ``fp32``, ``int8``
``openvino``              ``cpu`` (any         ``fp32``, ``int8``; ``bf16`` /
                          OpenVINO device)     ``fp16`` where the device has
                                               them
``tensorrt``              ``cuda`` only        ``fp32``, ``fp16``, ``bf16``,
                                               ``int8``
========================  ===================  ===========================

``int8`` runs the quantized model of the export folder
(:mod:`mmseg_ext.deploy.quantize`): ``end2end.int8.onnx`` (ONNX Runtime;
OpenVINO runs it when given that file), ``end2end.int8.xml`` (OpenVINO,
NNCF), or for TensorRT
``end2end.onnx`` with the calibration cache ``end2end.int8.calib``; given
``end2end.onnx`` / ``end2end.xml`` the file beside it is taken
(:func:`int8_model_file`). OpenVINO runs the layers left float at f32.

OpenVINO's CPU plugin picks bf16 by itself on CPUs with AVX512-BF16, so the
inference precision is always set explicitly (``INFERENCE_PRECISION_HINT``).
The runtimes are optional dependencies (``requirements-deploy.txt``); a
missing one raises ``ImportError`` naming its pip package.
"""
import os.path as osp
from typing import Optional

import numpy as np
import torch

BACKENDS = ('onnxruntime', 'openvino', 'tensorrt')
PRECISIONS = ('fp32', 'bf16', 'fp16', 'int8')
INPUT_NAME = 'input'
OUTPUT_NAME = 'output'

_PIP = {
    'onnxruntime': 'onnxruntime (onnxruntime-gpu for CUDA)',
    'openvino': 'openvino',
    'tensorrt': 'tensorrt',
}
_OV_PRECISION = {'fp32': 'f32', 'bf16': 'bf16', 'fp16': 'f16', 'int8': 'f32'}
_OV_CAPABILITY = {'bf16': 'BF16', 'fp16': 'FP16', 'int8': 'INT8'}
_INT8_FILES = {
    'onnxruntime': ('end2end.int8.onnx', ),
    'openvino': ('end2end.int8.xml', ),
    'tensorrt': ('end2end.int8.calib', ),
}
_INT8_CONFIG = 'configs/deploy/segmentation_{}-int8_static-512x1024.py'


def _import(backend: str):
    try:
        if backend == 'onnxruntime':
            import onnxruntime as module
        elif backend == 'openvino':
            import openvino as module
        else:
            import tensorrt as module
    except ImportError as err:
        raise ImportError(
            f'backend {backend!r} needs the pip package {_PIP[backend]}: '
            f'pip install -r requirements-deploy.txt (or run '
            f'tools/setup_env.sh)') from err
    return module


class BackendModel:
    """One exported segmentor on one runtime.

    Args:
        model_file (str): ``end2end.onnx`` (all backends) or an OpenVINO IR
            ``end2end.xml`` (``openvino`` only); for ``int8`` also the
            quantized file (:func:`int8_model_file`).
        backend (str): ``'onnxruntime'``, ``'openvino'`` or ``'tensorrt'``.
        precision (str): ``'fp32'`` (exact: the contract is max abs diff
            <= 1e-4 vs eager PyTorch), ``'bf16'`` or ``'fp16'``
            (approximate: per-pixel argmax agreement), ``'int8'`` (the
            quantized export; its accuracy gate is in ``deploy.json``).
            Default ``'fp32'``.
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:K'`` (OpenVINO:
            also its own device names, e.g. ``'GPU'``). Default ``'cpu'``.
        num_threads (int, optional): CPU threads for the runtime (ONNX
            Runtime ``intra_op_num_threads``, OpenVINO
            ``INFERENCE_NUM_THREADS``); ``None`` keeps its default.

    Raises:
        FileNotFoundError: If ``model_file`` does not exist, or for
            ``int8`` the export has no quantized model for ``backend``.
        ValueError: If backend, precision or device is unknown or the
            combination is unsupported (e.g. ``tensorrt`` without a CUDA
            GPU, ``bf16`` on ONNX Runtime, ``bf16`` on a CPU without it).
        ImportError: If the backend's runtime is not installed.
    """

    def __init__(self,
                 model_file: str,
                 backend: str,
                 precision: str = 'fp32',
                 device: str = 'cpu',
                 num_threads: Optional[int] = None):
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
        if precision not in PRECISIONS:
            raise ValueError(
                f'precision must be one of {PRECISIONS}, got {precision!r}')
        if num_threads is not None and num_threads < 1:
            raise ValueError(f'num_threads must be >= 1, got {num_threads}')
        self.model_file = model_file
        self.backend = backend
        self.precision = precision
        self.device = device
        self.num_threads = num_threads
        _check_combination(model_file, backend, precision, device)
        if not osp.isfile(model_file):
            raise FileNotFoundError(f'model file not found: {model_file}')
        if precision == 'int8':
            model_file = self.model_file = int8_model_file(model_file, backend)
        elif '.int8.' in osp.basename(model_file):
            raise ValueError(f'{model_file} is a quantized model: run it '
                             "with precision='int8'")
        runner = {
            'onnxruntime': _OrtRunner,
            'openvino': _OpenVINORunner,
            'tensorrt': _TensorRTRunner,
        }[backend]
        self._runner = runner(model_file, precision, device, num_threads)

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of a normalised image batch.

        Args:
            inputs (Tensor): (N, 3, H, W), float32, normalised as the
                model's data preprocessor does. A static export accepts
                only its export shape.

        Returns:
            Tensor: (N, C, H, W) float32 logits, on the CPU (TensorRT: on
            its CUDA device).
        """
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError('inputs must have shape (N, 3, H, W), got '
                             f'{tuple(inputs.shape)}')
        return self._runner(inputs.float())

    def __repr__(self) -> str:
        return (f'BackendModel({self.model_file!r}, {self.backend!r}, '
                f'precision={self.precision!r}, device={self.device!r})')


def _check_combination(model_file, backend, precision, device):
    is_cuda = str(device).startswith('cuda')
    where = f'backend={backend!r}, precision={precision!r}, device={device!r}'
    if backend == 'onnxruntime':
        if precision not in ('fp32', 'int8'):
            raise ValueError(
                f'unsupported combination {where}: ONNX Runtime runs the '
                'exported fp32 graph and its int8 quantization only; use '
                'openvino (bf16 on CPU) or tensorrt (fp16/bf16 on a CUDA '
                'GPU)')
        if device != 'cpu' and not is_cuda:
            raise ValueError(f'unsupported combination {where}: ONNX '
                             "Runtime devices are 'cpu' and 'cuda[:K]'")
    elif backend == 'openvino':
        if is_cuda:
            raise ValueError(f'unsupported combination {where}: OpenVINO '
                             "does not run on CUDA; use device='cpu'")
    else:
        if not is_cuda or not torch.cuda.is_available():
            raise ValueError(
                f'unsupported combination {where}: TensorRT needs a CUDA '
                "GPU and device='cuda[:K]'" + ('' if torch.cuda.is_available(
                ) else ' (no CUDA GPU is visible)'))
    if backend != 'openvino' and model_file.endswith('.xml'):
        raise ValueError(f'{model_file} is an OpenVINO IR; backend '
                         f'{backend!r} needs the .onnx file')


def int8_model_file(model_file: str, backend: str) -> str:
    """The quantized model ``backend`` runs for the export ``model_file``.

    A file whose name holds ``.int8.`` is taken as is (OpenVINO: the
    ``.int8.xml`` or ONNX Runtime's QDQ ``.int8.onnx``); otherwise the
    backend's quantized file beside it (``end2end.int8.onnx``,
    ``end2end.int8.xml``, TensorRT: ``end2end.onnx`` itself once its
    calibration cache ``end2end.int8.calib`` is there).

    Raises:
        FileNotFoundError: If the export holds no quantized model for
            ``backend`` (names the file expected and the deploy config
            that makes it).
    """
    name = osp.basename(model_file)
    if '.int8.' in name and not name.endswith('.calib'):
        if backend != 'openvino' and not name.endswith('.onnx'):
            raise ValueError(f'{model_file} is an OpenVINO IR; backend '
                             f'{backend!r} needs end2end.int8.onnx')
        return model_file
    folder = osp.dirname(model_file)
    for candidate in _INT8_FILES[backend]:
        if osp.isfile(osp.join(folder, candidate)):
            if backend == 'tensorrt':
                return osp.join(folder, 'end2end.onnx')
            return osp.join(folder, candidate)
    raise FileNotFoundError(
        f'{folder or "."}: no int8 model for backend {backend!r} (expected '
        f'{" or ".join(_INT8_FILES[backend])}); quantize the export with '
        f'tools/deploy/deploy.py {_INT8_CONFIG.format(backend)}')


class _OrtRunner:

    def __init__(self, model_file, precision, device, num_threads):
        ort = _import('onnxruntime')
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        if device == 'cpu':
            providers = ['CPUExecutionProvider']
        else:
            if 'CUDAExecutionProvider' not in ort.get_available_providers():
                raise ValueError(
                    f"device={device!r} needs ONNX Runtime's "
                    'CUDAExecutionProvider, which this onnxruntime lacks '
                    '(install onnxruntime-gpu)')
            index = int(device.split(':')[1]) if ':' in device else 0
            providers = [('CUDAExecutionProvider', {
                'device_id': index
            }), 'CPUExecutionProvider']
        self.session = ort.InferenceSession(
            model_file, options, providers=providers)

    def __call__(self, inputs):
        array = inputs.detach().cpu().contiguous().numpy()
        out = self.session.run([OUTPUT_NAME], {INPUT_NAME: array})[0]
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


class _OpenVINORunner:

    def __init__(self, model_file, precision, device, num_threads):
        ov = _import('openvino')
        core = ov.Core()
        ov_device = 'CPU' if device == 'cpu' else device
        if ov_device not in core.available_devices:
            raise ValueError(
                f'OpenVINO device {ov_device!r} not available; available: '
                f'{core.available_devices}')
        if precision in _OV_CAPABILITY:
            caps = core.get_property(ov_device, 'OPTIMIZATION_CAPABILITIES')
            if _OV_CAPABILITY[precision] not in caps:
                raise ValueError(
                    f'unsupported combination backend=\'openvino\', '
                    f'precision={precision!r}, device={device!r}: this '
                    f'{ov_device} has no {_OV_CAPABILITY[precision]} '
                    f'(its capabilities: {list(caps)})')
        config = {'INFERENCE_PRECISION_HINT': _OV_PRECISION[precision]}
        if num_threads is not None and ov_device == 'CPU':
            config['INFERENCE_NUM_THREADS'] = num_threads
        self.compiled = core.compile_model(
            core.read_model(model_file), ov_device, config)
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output(0)

    def __call__(self, inputs):
        array = inputs.detach().cpu().contiguous().numpy()
        out = self.request.infer({0: array})[self.output]
        return torch.from_numpy(np.array(out, dtype=np.float32, copy=True))


class _TensorRTRunner:
    """Builds a TensorRT engine from the ONNX file (cached beside it as
    ``end2end.<precision>.engine``) and runs it on torch CUDA tensors.
    Written against the TensorRT 10 Python API."""

    def __init__(self, model_file, precision, device, num_threads):
        trt = _import('tensorrt')
        self.trt = trt
        self.device = torch.device(device)
        logger = trt.Logger(trt.Logger.WARNING)
        engine_file = osp.splitext(model_file)[0] + f'.{precision}.engine'
        runtime = trt.Runtime(logger)
        if osp.isfile(engine_file):
            with open(engine_file, 'rb') as f:
                engine = runtime.deserialize_cuda_engine(f.read())
        else:
            engine = runtime.deserialize_cuda_engine(
                self._build(trt, logger, model_file, precision, engine_file))
        if engine is None:
            raise RuntimeError(f'TensorRT could not load {engine_file}')
        self.engine = engine
        self.context = engine.create_execution_context()

    def _build(self, trt, logger, model_file, precision, engine_file):
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(model_file):
            errors = [
                str(parser.get_error(i)) for i in range(parser.num_errors)
            ]
            raise RuntimeError(f'TensorRT cannot parse {model_file}: ' +
                               '; '.join(errors))
        config = builder.create_builder_config()
        if precision == 'int8':
            from .quantize_tensorrt import configure_int8
            configure_int8(trt, network, config, model_file)
        elif precision == 'fp16':
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == 'bf16':
            config.set_flag(trt.BuilderFlag.BF16)
        inp = network.get_input(0)
        if any(d < 0 for d in inp.shape):
            # Dynamic export: one optimisation profile from 256x256 up to
            # 2048x2048, tuned at 1024x1024 (N = 1).
            profile = builder.create_optimization_profile()
            profile.set_shape(inp.name, (1, 3, 256, 256), (1, 3, 1024, 1024),
                              (1, 3, 2048, 2048))
            config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError(f'TensorRT failed to build {model_file}')
        data = bytes(serialized)
        with open(engine_file + '.partial', 'wb') as f:
            f.write(data)
        import os
        os.replace(engine_file + '.partial', engine_file)
        return data

    def __call__(self, inputs):
        x = inputs.to(self.device, torch.float32).contiguous()
        self.context.set_input_shape(INPUT_NAME, tuple(x.shape))
        shape = tuple(self.context.get_tensor_shape(OUTPUT_NAME))
        out = torch.empty(shape, dtype=torch.float32, device=self.device)
        self.context.set_tensor_address(INPUT_NAME, x.data_ptr())
        self.context.set_tensor_address(OUTPUT_NAME, out.data_ptr())
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError('TensorRT execution failed')
        stream.synchronize()
        return out
