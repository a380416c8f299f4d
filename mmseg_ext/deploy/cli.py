"""``tools/deploy/deploy.py``: export a segmentor and prepare its backend.

The command has mmdeploy's shape (``tools/deploy.py DEPLOY_CFG MODEL_CFG
CHECKPOINT IMG --work-dir DIR``); mmdeploy 1.3.1 itself does not run on this
stack (see the README's "Deployment" section). Example::

    python tools/deploy/deploy.py \\
        configs/deploy/segmentation_openvino_static-512x1024.py \\
        configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py \\
        sfnet_r18.pth data/cityscapes/leftImg8bit/val/x.png \\
        --work-dir work_dirs/deploy/sfnet_r18

``DIR`` then holds ``end2end.onnx`` (+ ``end2end.onnx.data`` when the
weights are stored outside), the backend's own files (OpenVINO
``end2end.xml``/``.bin``; TensorRT builds ``end2end.<precision>.engine`` on
the GPU at first use) and ``deploy.json``: backend, precision, shape,
opset, export time and the max abs diff (and argmax agreement) of the
backend's logits against PyTorch's on the sample image; a dynamic export is
also checked at a second size (:func:`second_shape`, ``dynamic_check``).

An ``int8`` deploy config (``configs/deploy/*-int8_*.py``) then quantizes
the export (:mod:`mmseg_ext.deploy.quantize`: calibration images from the
model config's ``calib_config.split`` dataloader) and scores it against
fp32 PyTorch (``accuracy_gate``, :mod:`mmseg_ext.deploy.quantize_gate`);
``deploy.json`` gets ``quantization: {backend: {model, calibration, gate:
{metric, fp32, int8, max_drop, passed, cpu, isa, ...}}}``, and the command
exits non-zero when the gate fails, unless ``--allow-accuracy-drop``.
``deploy.json`` also records the model config's identity
(:mod:`mmseg_ext.deploy.identity`), which the test entry and the benchmark
compare with the config they are given.

The checkpoint is loaded strictly (:func:`mmseg_ext.apis.build_model`): a
missing, unexpected or mis-shaped key, an empty or truncated file stops the
export, naming the file; ``--allow-partial-load`` exports a partially loaded
model on purpose (recorded as ``partial_load`` in ``deploy.json``).
"""
import argparse
import json
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

from ..apis.builder import build_model, load_config
from ..utils.cli import add_cfg_options
from .backends import BACKENDS, PRECISIONS, BackendModel, _check_combination
from .export import DEPLOY_JSON, End2End, export_onnx
from .identity import model_config_identity
from .quantize import calibration_inputs
from .quantize_gate import int8_settings, quantize_and_gate


def load_deploy_config(path: str) -> Config:
    """The deploy config at ``path`` with its defaults filled in.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If ``backend_config.type`` or ``precision`` is unknown.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'deploy config not found: {path}')
    cfg = Config.fromfile(path)
    backend = cfg.get('backend_config', dict(type='onnxruntime'))
    backend.setdefault('precision', 'fp32')
    backend.setdefault('device', 'cpu')
    if backend['type'] not in BACKENDS:
        raise ValueError(f'{path}: backend_config.type must be one of '
                         f"{BACKENDS}, got {backend['type']!r}")
    if backend['precision'] not in PRECISIONS:
        raise ValueError(f'{path}: backend_config.precision must be one of '
                         f"{PRECISIONS}, got {backend['precision']!r}")
    cfg.backend_config = backend
    return cfg


def sample_input(model, image: str, shape: Tuple[int, int]) -> torch.Tensor:
    """``image`` resized to ``shape`` (H, W) and normalised as ``model``'s
    data preprocessor does (BGR -> RGB if it converts, mean/std): (1, 3, H,
    W) float32.

    Raises:
        FileNotFoundError: If ``image`` cannot be read.
    """
    import cv2
    array = cv2.imread(image, cv2.IMREAD_COLOR)
    if array is None:
        raise FileNotFoundError(f'cannot read sample image {image}')
    array = cv2.resize(
        array, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    x = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
    preprocessor = model.data_preprocessor
    if getattr(preprocessor, 'channel_conversion', False):
        x = x[[2, 1, 0]]
    x = x.float()
    if getattr(preprocessor, '_enable_normalize', False):
        x = (x - preprocessor.mean) / preprocessor.std
    return x.unsqueeze(0).contiguous()


def deploy(deploy_cfg: str,
           model_cfg: str,
           checkpoint: Optional[str],
           sample_img: str,
           work_dir: str,
           shape: Optional[Tuple[int, int]] = None,
           dynamic: Optional[bool] = None,
           device: Optional[str] = None,
           allow_partial_load: bool = False,
           cfg_options: Optional[dict] = None) -> dict:
    """Export ``model_cfg`` + ``checkpoint`` for ``deploy_cfg``'s backend.

    Args:
        deploy_cfg (str): A config of ``configs/deploy/``.
        model_cfg (str): The model config.
        checkpoint (str, optional): Weights; ``None`` exports random ones.
        sample_img (str): Image for the export example and the check.
        work_dir (str): Output folder (see the module docstring).
        shape (tuple[int, int], optional): Input (H, W); default: the
            deploy config's ``input_shape``, else the image's size.
        dynamic (bool, optional): Override the deploy config's choice
            (``dynamic_axes`` present = dynamic).
        device (str, optional): Override ``backend_config.device``.
        allow_partial_load (bool): Export even if the checkpoint does not
            match the model (listed in the log). Default: False.
        cfg_options (dict, optional): Overrides of the model config (e.g.
            the calibration dataloader's ``data_root`` or resize).

    Returns:
        dict: The contents of ``deploy.json``.

    Raises:
        ValueError: For an unsupported backend / precision / device.
        FileNotFoundError: For a missing config, checkpoint or image.
        FileExistsError: If ``work_dir`` already holds an export.
        RuntimeError: If the checkpoint does not match the model (missing,
            unexpected, mis-shaped keys listed), unless
            ``allow_partial_load``.
        ValueError: If the checkpoint file is empty or truncated (named).
        ValueError: For int8: no calibration image, or a dataloader image
            of another size than a static export (before exporting).
    """
    cfg = load_deploy_config(deploy_cfg)
    backend = cfg.backend_config
    device = device or backend['device']
    model_file = osp.join(work_dir, 'end2end.onnx')
    # Refuse an impossible backend before spending minutes on the export.
    _check_combination(model_file, backend['type'], backend['precision'],
                       device)
    if dynamic is None:
        dynamic = 'dynamic_axes' in cfg.onnx_config
    if shape is None and cfg.onnx_config.get('input_shape'):
        width, height = cfg.onnx_config['input_shape']
        shape = (height, width)
    if shape is None:
        import cv2
        image = cv2.imread(sample_img)
        if image is None:
            raise FileNotFoundError(f'cannot read sample image {sample_img}')
        shape = image.shape[:2]
    model_config = load_config(model_cfg, cfg_options)
    int8 = backend['precision'] == 'int8'
    if int8:  # refuse bad calibration data before minutes of export
        calib, gate = int8_settings(cfg)
        calib_inputs = calibration_inputs(model_config, calib['split'],
                                          calib['num_images'],
                                          None if dynamic else shape,
                                          model_cfg)
    identity = model_config_identity(model_config, model_cfg)
    model = build_model(
        model_config, checkpoint, strict=not allow_partial_load)
    x = sample_input(model, sample_img, shape)
    info = dict(
        backend=backend['type'],
        precision=backend['precision'],
        device=device,
        deploy_config=deploy_cfg,
        partial_load=allow_partial_load,
        **identity)
    onnx_file = export_onnx(
        model_cfg,
        checkpoint,
        work_dir,
        shape,
        dynamic,
        opset=cfg.onnx_config.get('opset_version', 18),
        model=model,
        deploy_info=info)
    run_file = onnx_file
    if backend['type'] == 'openvino':
        run_file = save_openvino_ir(onnx_file)
    runner = BackendModel(run_file, backend['type'],
                          'fp32' if int8 else backend['precision'], device)
    info = read_json(work_dir)
    info.update(
        model_file=osp.basename(run_file),
        sample_image=sample_img,
        **compare_with_pytorch(runner, model, x))
    if dynamic:
        # the graph at another size than the example's: a size the code
        # fixed while tracing shows up here, not in the user's first run
        odd = second_shape(shape)
        info['dynamic_check'] = dict(
            shape=list(odd),
            **compare_with_pytorch(runner, model,
                                   sample_input(model, sample_img, odd)))
    if int8:
        info['quantization'] = {
            backend['type']:
            quantize_and_gate(work_dir, backend['type'], calib_inputs, calib,
                              gate, model_config, model, x, device, model_cfg)
        }
    with open(osp.join(work_dir, DEPLOY_JSON), 'w') as f:
        json.dump(info, f, indent=2)
    return info


def second_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """The size a dynamic export is checked at besides its example:
    (H + 33, W + 17), odd for the even sizes deploy configs export at, so
    no stride divides it."""
    return int(shape[0]) + 33, int(shape[1]) + 17


def compare_with_pytorch(runner: BackendModel, model, x: torch.Tensor) -> dict:
    """The backend's logits against eager PyTorch on one input.

    Args:
        runner (BackendModel): The exported model on its backend.
        model: The segmentor it was exported from.
        x (Tensor): (N, 3, H, W) normalised input.

    Returns:
        dict: ``max_abs_diff_vs_pytorch`` (logits) and
        ``argmax_agreement_vs_pytorch`` (fraction of pixels).
    """
    with torch.no_grad():
        reference = End2End(model)(x)
    out = runner(x).to(reference.device)
    return dict(
        max_abs_diff_vs_pytorch=float((out - reference).abs().max()),
        argmax_agreement_vs_pytorch=float(
            (out.argmax(1) == reference.argmax(1)).float().mean()))


def save_openvino_ir(onnx_file: str) -> str:
    """Convert ``onnx_file`` to OpenVINO IR beside it (weights kept fp32,
    the precision is chosen at compile time); returns the ``.xml`` path."""
    from .backends import _import
    ov = _import('openvino')
    xml = osp.splitext(onnx_file)[0] + '.xml'
    ov.save_model(ov.convert_model(onnx_file), xml, compress_to_fp16=False)
    return xml


def failed_gates(info: dict) -> List[str]:
    """One line per failed accuracy gate of ``deploy.json``'s
    ``quantization`` (backend, metric, int8 vs fp32)."""
    lines = []
    for name, entry in info.get('quantization', {}).items():
        gate = entry.get('gate')
        if gate and not gate['passed']:
            lines.append(f"{name}: {gate['metric']} {gate['int8']:.2f} vs "
                         f"fp32 {gate['fp32']:.2f}, more than "
                         f"{gate['max_drop']} below")
    return lines


def read_json(work_dir: str) -> dict:
    with open(osp.join(work_dir, DEPLOY_JSON)) as f:
        return json.load(f)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a segmentor to ONNX and prepare its backend')
    parser.add_argument('deploy_cfg', help='configs/deploy/*.py')
    parser.add_argument('model_cfg', help='model config')
    parser.add_argument(
        'checkpoint', help="checkpoint file, or 'none' for random weights")
    parser.add_argument('img', help='sample image (export example, check)')
    parser.add_argument('--work-dir', required=True, help='output folder')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input height and width (default: the deploy config, else the '
        "image's size)")
    parser.add_argument(
        '--dynamic',
        action='store_true',
        default=None,
        help='dynamic batch / height / width, whatever the deploy config')
    parser.add_argument(
        '--device', help='override backend_config.device (cpu, cuda:0)')
    parser.add_argument(
        '--allow-partial-load',
        action='store_true',
        help='export even if the checkpoint does not match the model '
        '(missing, unexpected or mis-shaped keys; listed in the log). '
        'Without it such a checkpoint is refused before anything is written')
    parser.add_argument(
        '--allow-accuracy-drop',
        action='store_true',
        help='int8: exit 0 even if the quantized model fails its accuracy '
        'gate (the result is in deploy.json either way)')
    add_cfg_options(parser, example='val_dataloader.dataset.data_root=DIR')
    args = parser.parse_args(argv)
    if args.shape is not None and min(args.shape) < 1:
        parser.error(f'--shape must be positive, got {args.shape}')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else \
        args.checkpoint
    info = deploy(args.deploy_cfg, args.model_cfg, checkpoint, args.img,
                  args.work_dir, args.shape, args.dynamic, args.device,
                  args.allow_partial_load, args.cfg_options)
    print(json.dumps(info, indent=2))
    failed = failed_gates(info)
    if failed and not args.allow_accuracy_drop:
        raise SystemExit(
            f'int8 accuracy gate failed ({"; ".join(failed)}); the export '
            f'is in {args.work_dir} (deploy.json); pass '
            '--allow-accuracy-drop to accept it')
    return info
