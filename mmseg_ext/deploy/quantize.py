"""Post-training int8 quantization of an exported segmentor.

``end2end.onnx`` (:func:`~mmseg_ext.deploy.export.export_onnx`) is
quantized by the runtimes' own tools, with calibration images drawn from the
model config's dataloader and preprocessed by the config's own pipeline and
data preprocessor (:func:`calibration_inputs`):

* OpenVINO: NNCF ``nncf.quantize`` on the OpenVINO model
  (:func:`quantize_openvino`) -> ``end2end.int8.xml`` / ``.bin``;
* ONNX Runtime: ``onnxruntime.quantization.quantize_static`` (QDQ format,
  per-channel int8 weights, int8 activations, a ``CalibrationDataReader``
  over the same images; :func:`quantize_onnxruntime`) ->
  ``end2end.int8.onnx``;
* TensorRT: an entropy calibrator with a calibration cache
  (:mod:`.quantize_tensorrt`, CUDA only).

The layers of :mod:`.quantize_scope` (grid-sample coordinates, point
selection, image pyramids, logit tails) stay float through each library's
ignored scope. :func:`accuracy_gate` then scores the quantized export
against fp32 PyTorch with the config's metric data (mIoU on a split), which
``tools/deploy/deploy.py`` records in ``deploy.json`` (``quantization``).
"""
import os
import os.path as osp
import time
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .quantize_scope import RULES, float_only_nodes

INT8_ONNX = 'end2end.int8.onnx'
INT8_XML = 'end2end.int8.xml'
#: Backend -> its quantized model file in the export folder.
INT8_FILES = {
    'onnxruntime': INT8_ONNX,
    'openvino': INT8_XML,
    'tensorrt': 'end2end.int8.calib'
}
#: Defaults of a deploy config's ``calib_config``.
CALIB_DEFAULTS = dict(
    split='val',
    num_images=32,
    method='minmax',
    preset='performance',
    fast_bias_correction=True,
    float_only=tuple(RULES))


def _dataset_cfg(cfg, split: str, source: str):
    key = f'{split}_dataloader'
    if key not in cfg or 'dataset' not in (cfg.get(key) or {}):
        raise KeyError(f'{source}: no {key}.dataset to draw images from '
                       "(calib_config.split / accuracy_gate.split must name "
                       "a dataloader of the model config: 'train', 'val' or "
                       "'test')")
    return cfg[key]['dataset']


def pick_indices(length: int, num_images: Optional[int]) -> List[int]:
    """``num_images`` indices spread evenly over ``range(length)`` (all
    when ``num_images`` is None or >= ``length``); deterministic."""
    if num_images is None or num_images >= length:
        return list(range(length))
    return sorted(
        {int(round(i))
         for i in np.linspace(0, length - 1, num_images)})


def preprocessed_batches(cfg,
                         split: str,
                         num_images: Optional[int],
                         source: str = 'the model config') -> Iterator[dict]:
    """The config's ``{split}_dataloader`` dataset, ``num_images`` samples
    spread over it, each as a one-sample batch ``{'inputs': [...],
    'data_samples': [...]}`` as the dataloader collates it.

    Args:
        cfg (Config): The model config (``cfg_options`` merged).
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        num_images (int, optional): How many; None: all.
        source (str): The config's name, for errors.

    Raises:
        KeyError: If the config has no such dataloader.
        ValueError: If ``num_images`` < 1 or the dataset is empty.
    """
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    if num_images is not None and num_images < 1:
        raise ValueError(f'{source}: {split} needs num_images >= 1, got '
                         f'{num_images}')
    data = _dataset_cfg(cfg, split, source)
    indices = data.get('indices')
    # mmengine fails obscurely on an empty subset: refuse it first
    empty = indices is not None and not (indices if isinstance(
        indices, (list, tuple)) else indices > 0)
    dataset = None if empty else DATASETS.build(data)
    if empty or len(dataset) == 0:
        raise ValueError(
            f'{source}: {split}_dataloader has 0 images (data_root='
            f"{data.get('data_root')!r}, data_prefix="
            f"{dict(data.get('data_prefix') or {})}, indices={indices!r}); "
            'calibration and the accuracy gate need at least one')
    for index in pick_indices(len(dataset), num_images):
        yield pseudo_collate([dataset[index]]), dataset


def calibration_inputs(cfg,
                       split: str = 'val',
                       num_images: int = 32,
                       shape: Optional[Sequence[int]] = None,
                       source: str = 'the model config') -> List[np.ndarray]:
    """Calibration images: the dataloader's pipeline, then the model's data
    preprocessor (BGR->RGB, mean/std, test-time padding), as in testing.

    Args:
        cfg (Config): The model config.
        split (str): Dataloader to draw from. Default ``'val'``.
        num_images (int): How many, spread evenly over the split.
        shape (tuple[int, int], optional): The static export's (H, W);
            every image must come out at this size.
        source (str): The config's name, for errors.

    Returns:
        list[np.ndarray]: (1, 3, H, W) float32 arrays.

    Raises:
        ValueError: For ``num_images`` < 1, an empty split, or an image of
            another size than ``shape`` (names the split and both sizes).
        KeyError: If the config has no ``{split}_dataloader``.
    """
    from mmseg.registry import MODELS
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    arrays = []
    for batch, dataset in preprocessed_batches(cfg, split, num_images, source):
        with torch.no_grad():
            x = preprocessor(batch, False)['inputs']
        if shape is not None and tuple(x.shape[2:]) != tuple(shape):
            raise ValueError(
                f'{source}: {split}_dataloader yields a {x.shape[2]}x'
                f'{x.shape[3]} input but the static export takes '
                f'{shape[0]}x{shape[1]}: export at the dataloader\'s size '
                '(--shape), make its pipeline resize to the export size '
                '(--cfg-options), or export dynamically')
        arrays.append(x.float().contiguous().numpy())
    return arrays


def quantize_onnxruntime(onnx_file: str,
                         inputs: Sequence[np.ndarray],
                         out_file: str,
                         ignored: Sequence[str] = (),
                         method: str = 'minmax') -> dict:
    """``onnxruntime.quantization.quantize_static``: QDQ, per-channel int8
    weights, int8 activations calibrated on ``inputs``.

    Args:
        onnx_file (str): The fp32 export.
        inputs (Sequence[np.ndarray]): (1, 3, H, W) float32 images.
        out_file (str): The quantized model; written to ``out_file +
            '.partial'`` first, moved into place when complete.
        ignored (Sequence[str]): ONNX node names kept float
            (``nodes_to_exclude``).
        method (str): ``'minmax'``, ``'entropy'`` or ``'percentile'``
            (``CalibrationMethod``).

    Returns:
        dict: The settings used (for ``deploy.json``).

    Raises:
        ValueError: If ``inputs`` is empty or ``method`` unknown.
    """
    from onnxruntime import __version__ as ort_version
    from onnxruntime.quantization import (CalibrationDataReader,
                                          CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    methods = dict(
        minmax=CalibrationMethod.MinMax,
        entropy=CalibrationMethod.Entropy,
        percentile=CalibrationMethod.Percentile)
    if method not in methods:
        raise ValueError(f'calib_config.method must be one of '
                         f'{list(methods)}, got {method!r}')
    if not len(inputs):
        raise ValueError('calibration needs at least one image, got 0')

    class Reader(CalibrationDataReader):

        def __init__(self):
            self.items = iter(inputs)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {'input': x}

    partial = out_file + '.partial'
    quantize_static(
        onnx_file,
        partial,
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=methods[method],
        nodes_to_exclude=list(ignored))
    os.replace(partial, out_file)
    return dict(
        tool=f'onnxruntime {ort_version} quantize_static',
        format='QDQ',
        per_channel=True,
        activations='int8',
        weights='int8',
        method=method)


def quantize_openvino(model_file: str,
                      inputs: Sequence[np.ndarray],
                      out_xml: str,
                      ignored: Sequence[str] = (),
                      preset: str = 'performance',
                      fast_bias_correction: bool = True) -> dict:
    """NNCF ``nncf.quantize`` of the OpenVINO model, saved as IR.

    Args:
        model_file (str): ``end2end.xml`` or ``end2end.onnx`` (fp32).
        inputs (Sequence[np.ndarray]): (1, 3, H, W) float32 images.
        out_xml (str): ``end2end.int8.xml`` (+ ``.bin``); written under
            partial names first, the ``.xml`` moved into place last.
        ignored (Sequence[str]): Operation names kept float
            (``nncf.IgnoredScope(names=..., validate=False)``: a name the
            converted model lacks is skipped).
        preset (str): ``'performance'`` (symmetric activations) or
            ``'mixed'`` (asymmetric).
        fast_bias_correction (bool): NNCF's fast bias correction.

    Returns:
        dict: The settings used.

    Raises:
        ImportError: If nncf or openvino is missing.
        ValueError: If ``inputs`` is empty or ``preset`` unknown.
    """
    from .backends import _import
    ov = _import('openvino')
    try:
        import nncf
    except ImportError as err:
        raise ImportError('OpenVINO int8 needs the pip package nncf: pip '
                          'install -r requirements-deploy.txt') from err
    presets = dict(
        performance=nncf.QuantizationPreset.PERFORMANCE,
        mixed=nncf.QuantizationPreset.MIXED)
    if preset not in presets:
        raise ValueError(f'calib_config.preset must be one of '
                         f'{list(presets)}, got {preset!r}')
    if not len(inputs):
        raise ValueError('calibration needs at least one image, got 0')
    model = ov.Core().read_model(model_file)
    quantized = nncf.quantize(
        model,
        nncf.Dataset(list(inputs)),
        preset=presets[preset],
        subset_size=len(inputs),
        fast_bias_correction=fast_bias_correction,
        ignored_scope=nncf.IgnoredScope(names=list(ignored), validate=False))
    stem = osp.splitext(out_xml)[0]
    ov.save_model(quantized, stem + '.partial.xml', compress_to_fp16=False)
    os.replace(stem + '.partial.bin', stem + '.bin')
    os.replace(stem + '.partial.xml', out_xml)
    return dict(
        tool=f'nncf {nncf.__version__} quantize, openvino {ov.__version__}',
        preset=preset,
        fast_bias_correction=fast_bias_correction)


def quantize_export(work_dir: str,
                    backend: str,
                    inputs: Sequence[np.ndarray],
                    calib: Optional[dict] = None) -> Tuple[str, dict]:
    """Quantize ``work_dir/end2end.onnx`` for ``backend``.

    Args:
        work_dir (str): An export folder.
        backend (str): ``'onnxruntime'``, ``'openvino'`` or ``'tensorrt'``.
        inputs (Sequence[np.ndarray]): Calibration images
            (:func:`calibration_inputs`).
        calib (dict, optional): ``calib_config`` (:data:`CALIB_DEFAULTS`).

    Returns:
        tuple[str, dict]: The quantized model file and the ``calibration``
        record of ``deploy.json`` (settings, float-only nodes per rule,
        seconds).

    Raises:
        ValueError: For no calibration image, an unknown float-only rule
            or backend.
    """
    import onnx
    calib = {**CALIB_DEFAULTS, **(calib or {})}
    if not len(inputs):
        raise ValueError(f'calibration for {work_dir} needs at least one '
                         'image, got 0 (calib_config.num_images)')
    onnx_file = osp.join(work_dir, 'end2end.onnx')
    unknown = [r for r in calib['float_only'] if r not in RULES]
    if unknown:
        raise ValueError(f'calib_config.float_only: unknown rule(s) '
                         f'{unknown}; known: {list(RULES)}')
    nodes = float_only_nodes(onnx.load(onnx_file, load_external_data=False))
    nodes = {r: nodes[r] for r in calib['float_only']}
    ignored = sorted(set().union(*nodes.values())) if nodes else []
    start = time.perf_counter()
    out = osp.join(work_dir, INT8_FILES[backend])
    if backend == 'onnxruntime':
        settings = quantize_onnxruntime(onnx_file, inputs, out, ignored,
                                        calib['method'])
    elif backend == 'openvino':
        xml = osp.join(work_dir, 'end2end.xml')
        settings = quantize_openvino(
            xml if osp.isfile(xml) else onnx_file, inputs, out, ignored,
            calib['preset'], calib['fast_bias_correction'])
    elif backend == 'tensorrt':
        from .quantize_tensorrt import calibrate_tensorrt
        settings = calibrate_tensorrt(onnx_file, inputs, out, ignored)
    else:
        raise ValueError(f'no int8 quantization for backend {backend!r}')
    record = dict(
        split=calib['split'],
        num_images=len(inputs),
        **settings,
        float_only={
            r: dict(reason=RULES[r], nodes=n)
            for r, n in nodes.items()
        },
        seconds=round(time.perf_counter() - start, 2))
    return out, record
