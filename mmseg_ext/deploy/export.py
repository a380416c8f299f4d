"""Export a segmentor to ONNX: normalised image in, logits at input size out.

The exported graph is mmseg's test-time ``encode_decode`` (backbone, neck,
decode head(s), the decode head's resize to the image size; PointRend: its
subdivision steps; SFNet-DSN: the main output only, as in eval mode) for an
input of shape (N, 3, H, W) float32, normalised as the model's data
preprocessor does; the output is (N, C, H, W) float32 logits. Input and
output are named ``input`` and ``output``.

It uses ``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript):
the legacy TorchScript exporter cannot express ``adaptive_avg_pool2d`` with a
non-divisible output size (SFNet's PPM bins 3 and 6 on a 16x32 map) and
traces feature sizes as constants. With ``dynamic=True`` batch, height and
width are symbolic.
"""
import json
import os
import os.path as osp
import shutil
import time
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from ..apis.builder import build_model
from .backends import INPUT_NAME, OUTPUT_NAME
from .exporting import onnx_export_unsupported
from .patches import export_patches

OPSET = 18
ONNX_FILE = 'end2end.onnx'
DEPLOY_JSON = 'deploy.json'
# Smallest safe side of a dynamic export: two cells at stride 32 (a
# size-1 map is a special case torch.export cannot keep symbolic).
MIN_SIDE = 64


class End2End(nn.Module):
    """``segmentor.encode_decode(x, metas)`` as a one-input module.

    The image metas carry ``x``'s own (H, W), so under ``torch.export`` the
    resize to the image size stays symbolic. One meta dict serves the whole
    batch (one input size; mmseg's heads read ``batch_img_metas[0]``), so
    the batch size stays symbolic too.
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[2], x.shape[3])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape)]
        return self.segmentor.encode_decode(x, metas)


def export_onnx(cfg,
                checkpoint: Optional[str],
                work_dir: str,
                shape: Tuple[int, int],
                dynamic: bool,
                batch_size: int = 1,
                opset: int = OPSET,
                model: Optional[nn.Module] = None,
                deploy_info: Optional[dict] = None) -> str:
    """Export ``cfg``'s segmentor to ``work_dir/end2end.onnx``.

    Args:
        cfg (Config | str): The model config (or its path).
        checkpoint (str, optional): Weights to load; ``None`` keeps the
            config's initialisation (random weights).
        work_dir (str): Output folder; gets ``end2end.onnx`` (weights in
            ``end2end.onnx.data`` when the exporter stores them outside) and
            ``deploy.json``. Written to ``work_dir.partial`` first and moved
            into place only when complete.
        shape (tuple[int, int]): Example input (H, W) in pixels; the fixed
            input size of a static export.
        dynamic (bool): Symbolic batch, height and width (an input side of
            at least ``MIN_SIDE`` pixels is safe).
        batch_size (int): Example batch size (the fixed one when static).
        opset (int): ONNX opset. Default 18.
        model (nn.Module, optional): An already built segmentor to export
            instead of building ``cfg``'s.
        deploy_info (dict, optional): Extra keys for ``deploy.json``
            (backend, precision, ...).

    Returns:
        str: Path of ``end2end.onnx``.

    Raises:
        FileExistsError: If ``work_dir`` already holds ``end2end.onnx``.
        FileNotFoundError: If ``checkpoint`` does not exist.
        RuntimeError: If ``checkpoint`` does not match the model
            (:func:`mmseg_ext.apis.build_model` loads strictly).
        torch.onnx.errors.OnnxExporterError: If the exporter fails (the
            error names the operator).
        RuntimeError: If ``dynamic`` and the model fixes an input size, or
            if torch is older than 2.6 (the exporter's features are missing;
            nothing is written then).
    """
    unsupported = onnx_export_unsupported()
    if unsupported is not None:
        raise RuntimeError(unsupported)
    onnx_file = osp.join(work_dir, ONNX_FILE)
    if osp.exists(onnx_file):
        raise FileExistsError(f'{onnx_file} exists; choose another '
                              '--work-dir or delete it')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    if model is None:
        model = build_model(cfg, checkpoint)
    wrapper = End2End(model).eval()
    height, width = int(shape[0]), int(shape[1])
    # torch.export fixes a size of 1 in the example: trace a dynamic batch
    # with two images.
    x = torch.randn(
        max(batch_size, 2) if dynamic else batch_size, 3, height, width)
    dynamic_shapes = None
    if dynamic:
        # AUTO: torch.export keeps each size symbolic unless the code fixes
        # it; :func:`_check_dynamic` then refuses a graph with fixed sizes.
        auto = torch.export.Dim.AUTO
        dynamic_shapes = ({0: auto, 2: auto, 3: auto}, )
    partial = work_dir.rstrip('/') + '.partial'
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    start = time.perf_counter()
    with torch.no_grad(), export_patches():
        # torch.export first, so that a size the code fixes raises here
        # (torch.onnx.export would fall back to a static graph).
        program = torch.export.export(
            wrapper, (x, ), dynamic_shapes=dynamic_shapes, strict=False)
        if dynamic:
            _check_dynamic(program)
        torch.onnx.export(
            program, (x, ),
            osp.join(partial, ONNX_FILE),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamo=True,
            verbose=False)
    seconds = time.perf_counter() - start
    info = dict(
        onnx=ONNX_FILE,
        input=INPUT_NAME,
        output=OUTPUT_NAME,
        input_shape=[
            'batch' if dynamic else batch_size, 3,
            'height' if dynamic else height, 'width' if dynamic else width
        ],
        dynamic=dynamic,
        export_shape=[height, width],
        opset=opset,
        exporter=f'torch.onnx.export(dynamo=True), torch {torch.__version__}',
        export_seconds=round(seconds, 2),
        checkpoint=checkpoint,
        **(deploy_info or {}))
    with open(osp.join(partial, DEPLOY_JSON), 'w') as f:
        json.dump(info, f, indent=2)
    os.makedirs(osp.dirname(osp.abspath(work_dir)), exist_ok=True)
    if osp.isdir(work_dir):
        for name in os.listdir(partial):
            os.replace(osp.join(partial, name), osp.join(work_dir, name))
        os.rmdir(partial)
    else:
        os.replace(partial, work_dir)
    return onnx_file


def _check_dynamic(program) -> None:
    """Raise ``RuntimeError`` if ``program``'s input has a fixed size."""
    node = next(n for n in program.graph.nodes if n.op == 'placeholder'
                and n.name in program.graph_signature.user_inputs)
    fixed = [
        name for name, size in zip(('batch', 'height',
                                    'width'), (node.meta['val'].shape[i]
                                               for i in (0, 2, 3)))
        if isinstance(size, int)
    ]
    if fixed:
        raise RuntimeError(
            f'dynamic export failed: the model fixes the input {fixed} to '
            "the example's; export it with a static shape instead")


def read_deploy_info(work_dir: str) -> dict:
    """``work_dir/deploy.json``.

    Raises:
        FileNotFoundError: If it is missing.
    """
    path = osp.join(work_dir, DEPLOY_JSON)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: export with '
                                'tools/deploy/deploy.py first')
    with open(path) as f:
        return json.load(f)


def example_shape(shape: Sequence[int]) -> Tuple[int, int]:
    return int(shape[0]), int(shape[1])
