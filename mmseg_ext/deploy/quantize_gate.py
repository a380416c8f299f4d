"""The accuracy gate of a reduced-precision export (int8, bf16).

:func:`accuracy_gate` scores an export on its backend and the fp32 PyTorch
model on the same images of a split of the model config (its pipeline, its
data preprocessor, mmseg's test-time ``predict``: resize back to the
original image, argmax) with mmseg's ``IoUMetric`` (mIoU, in percent), and
passes when the export's mIoU is at most ``max_drop`` points below
PyTorch's. The per-pixel argmax agreement of the two predictions is
reported too. Quantized arithmetic is fast only where the CPU has the
instructions for it, and its rounding differs between kernels, so the
record names the CPU and its ISA flags (:func:`cpu_info`).
"""
import copy
from typing import Optional, Tuple

import torch

from .quantize import preprocessed_batches


def cpu_info() -> dict:
    """``{'cpu': model name, 'isa': [ISA flags present]}`` of this machine,
    as the benchmark's header reads them
    (:func:`mmseg_ext.benchmark.hardware.read_cpu`: ``lscpu``, else
    ``/proc/cpuinfo``, else the platform's processor string and ``[]``)."""
    from mmseg_ext.benchmark.hardware import read_cpu
    model, flags, _ = read_cpu()
    return dict(cpu=model, isa=flags)


def accuracy_gate(cfg,
                  model: torch.nn.Module,
                  model_file: str,
                  backend: str,
                  precision: str,
                  split: str = 'val',
                  num_images: Optional[int] = None,
                  max_drop: float = 1.0,
                  num_threads: Optional[int] = None,
                  device: str = 'cpu',
                  source: str = 'the model config') -> dict:
    """mIoU of the export at ``precision`` against fp32 PyTorch.

    Args:
        cfg (Config): The model config (its ``{split}_dataloader`` must load
            annotations).
        model (nn.Module): The fp32 segmentor, eval mode.
        model_file (str): The export's model file for ``backend``.
        backend (str): ``'onnxruntime'``, ``'openvino'`` or ``'tensorrt'``.
        precision (str): ``'int8'``, ``'bf16'``, ...
        split (str): ``'val'`` (default), ``'test'`` or ``'train'``.
        num_images (int, optional): Images spread evenly over the split;
            None: all.
        max_drop (float): Largest allowed mIoU drop, in points.
        num_threads (int, optional): CPU threads of the backend.
        device (str): The backend's device. Default ``'cpu'``.
        source (str): The config's name, for errors.

    Returns:
        dict: ``metric`` ('mIoU'), ``fp32``, ``<precision>`` (mIoU, %),
        ``max_drop``, ``passed``, ``cpu``, ``isa``, ``split``,
        ``num_images``, ``argmax_agreement`` (fraction of pixels).

    Raises:
        ValueError: If the split loads no annotations, or as
            :func:`~mmseg_ext.deploy.quantize.preprocessed_batches`.
    """
    from mmengine.evaluator import Evaluator
    from mmseg.registry import MODELS

    from .segmentor import backend_model_cfg
    segmentor = MODELS.build(
        backend_model_cfg(cfg.model, model_file, backend, precision, device,
                          num_threads)).eval()
    evaluators = {}
    agree = total = count = 0
    for batch, dataset in preprocessed_batches(cfg, split, num_images, source):
        if not evaluators:
            for key in ('fp32', precision):
                evaluators[key] = Evaluator(
                    dict(type='IoUMetric', iou_metrics=['mIoU']))
                evaluators[key].dataset_meta = dataset.metainfo
        if 'gt_sem_seg' not in batch['data_samples'][0]:
            raise ValueError(f'{source}: {split}_dataloader loads no '
                             'annotations (LoadAnnotations), so the '
                             'accuracy gate has nothing to score')
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
            # predict() writes into the data samples it is given: one copy
            # each, or the second would overwrite the first's prediction
            ref = model(
                data['inputs'],
                copy.deepcopy(data['data_samples']),
                mode='predict')
            out = segmentor(
                data['inputs'],
                copy.deepcopy(data['data_samples']),
                mode='predict')
        for a, b in zip(ref, out):
            agree += int((a.pred_sem_seg.data == b.pred_sem_seg.data).sum())
            total += a.pred_sem_seg.data.numel()
        evaluators['fp32'].process(ref, batch)
        evaluators[precision].process(out, batch)
        count += 1
    scores = {
        key: float(ev.evaluate(count)['mIoU'])
        for key, ev in evaluators.items()
    }
    return dict(
        metric='mIoU',
        fp32=scores['fp32'],
        **{precision: scores[precision]},
        max_drop=float(max_drop),
        passed=bool(scores['fp32'] - scores[precision] <= max_drop),
        **cpu_info(),
        split=split,
        num_images=count,
        argmax_agreement=agree / max(total, 1))


#: Defaults of a deploy config's ``accuracy_gate``.
GATE_DEFAULTS = dict(split='val', num_images=None, max_drop=1.0)


def int8_settings(deploy_cfg) -> Tuple[dict, Optional[dict]]:
    """``calib_config`` and ``accuracy_gate`` of a deploy config with their
    defaults (:data:`~mmseg_ext.deploy.quantize.CALIB_DEFAULTS`,
    :data:`GATE_DEFAULTS`); the gate is None when the config sets
    ``accuracy_gate = None``.

    Raises:
        ValueError: For an unknown key, or ``calib_config.num_images`` < 1.
    """
    from .quantize import CALIB_DEFAULTS
    calib = dict(deploy_cfg.get('calib_config') or {})
    calib.pop('create_calib', None)  # mmdeploy's key: always created here
    unknown = set(calib) - set(CALIB_DEFAULTS)
    if unknown:
        raise ValueError(f'calib_config: unknown key(s) {sorted(unknown)}; '
                         f'known: {sorted(CALIB_DEFAULTS)}')
    calib = {**CALIB_DEFAULTS, **calib}
    if not isinstance(calib['num_images'], int) or calib['num_images'] < 1:
        raise ValueError('calib_config.num_images must be an integer >= 1, '
                         f"got {calib['num_images']!r}")
    gate = deploy_cfg.get('accuracy_gate', GATE_DEFAULTS)
    if gate is not None:
        unknown = set(gate) - set(GATE_DEFAULTS)
        if unknown:
            raise ValueError(f'accuracy_gate: unknown key(s) '
                             f'{sorted(unknown)}; known: '
                             f'{sorted(GATE_DEFAULTS)}')
        gate = {**GATE_DEFAULTS, **gate}
    return calib, gate


def quantize_and_gate(work_dir: str,
                      backend: str,
                      inputs,
                      calib: dict,
                      gate: Optional[dict],
                      cfg,
                      model: torch.nn.Module,
                      sample: torch.Tensor,
                      device: str = 'cpu',
                      source: str = 'the model config') -> dict:
    """Quantize the export in ``work_dir`` for ``backend``, check it on the
    sample input and, unless ``gate`` is None, score it
    (:func:`accuracy_gate`).

    Returns:
        dict: ``deploy.json``'s ``quantization[backend]``: ``model`` (file
        name), ``calibration`` (:func:`~mmseg_ext.deploy.quantize.
        quantize_export`), ``max_abs_diff_vs_pytorch`` and
        ``argmax_agreement_vs_pytorch`` on the sample, ``gate`` (or None).
    """
    import os.path as osp

    from .backends import BackendModel
    from .cli import compare_with_pytorch
    from .quantize import quantize_export
    out, record = quantize_export(work_dir, backend, inputs, calib)
    runner = BackendModel(
        osp.join(work_dir, 'end2end.onnx') if backend == 'tensorrt' else out,
        backend, 'int8', device)
    entry = dict(
        model=osp.basename(runner.model_file),
        calibration=record,
        **compare_with_pytorch(runner, model, sample))
    entry['gate'] = None if gate is None else accuracy_gate(
        cfg,
        model,
        runner.model_file,
        backend,
        'int8',
        device=device,
        source=source,
        **gate)
    return entry
