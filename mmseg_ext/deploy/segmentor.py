"""An exported segmentor behind mmseg's segmentor interface, for evaluation.

:class:`BackendSegmentor` is a :class:`mmseg.models.BaseSegmentor` whose
network is a :class:`~mmseg_ext.deploy.BackendModel` (ONNX Runtime,
OpenVINO, TensorRT), so the test loop of a config evaluates an exported
model exactly as it evaluates a checkpoint: the config's data preprocessor
(normalisation, padding), the backend (normalised (N, 3, H, W) in, logits
(N, C, H, W) at the input size out), then mmseg's own ``inference``
(whole / slide, from ``EncoderDecoder``) and ``postprocess_result``
(padding removed, flip undone, resize to the original image size, argmax)
and the config's evaluator. This follows mmdeploy's segmentation
``End2EndModel`` (``mmdeploy/codebase/mmseg/deploy/segmentation_model.py``
in the official repository), which wraps a backend the same way.

:func:`backend_model_cfg` turns a config's ``model`` into this one; the
test entry (``mim test mmseg_ext CONFIG --checkpoint EXPORT --backend
onnxruntime``) uses it.
"""
import os.path as osp
from types import SimpleNamespace
from typing import List, Optional

import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors import BaseSegmentor, EncoderDecoder
from mmseg.registry import MODELS

MODEL_FILES = ('end2end.onnx', )


def resolve_model_file(path: str, backend: str) -> str:
    """The model file a backend runs, from a file or an export folder.

    A folder gives its ``end2end.xml`` (OpenVINO IR, ``openvino`` only) if
    present, else its ``end2end.onnx``.

    Raises:
        FileNotFoundError: If ``path`` is neither a file nor a folder
            holding ``end2end.onnx`` (or, for OpenVINO, ``end2end.xml``).
    """
    if osp.isfile(path):
        return path
    names = (['end2end.xml'] if backend == 'openvino' else []) + \
        list(MODEL_FILES)
    for name in names:
        if osp.isfile(osp.join(path, name)):
            return osp.join(path, name)
    raise FileNotFoundError(
        f'{path}: no exported model ({" or ".join(names)}) found; export '
        'one with tools/deploy/deploy.py')


@MODELS.register_module()
class BackendSegmentor(BaseSegmentor):
    """A segmentor whose network runs on an inference backend.

    Args:
        model_file (str): ``end2end.onnx`` / ``end2end.xml`` or the export
            folder holding it (:func:`resolve_model_file`).
        backend (str): ``'onnxruntime'``, ``'openvino'`` or ``'tensorrt'``.
        num_classes (int): Classes C of the logits.
        precision (str): ``'fp32'`` (default), ``'bf16'`` or ``'fp16'``.
        device (str): The backend's device. Default ``'cpu'``.
        num_threads (int, optional): CPU threads of the backend.
        align_corners (bool): Of the final resize to the original image,
            as the decode head's. Default False.
        threshold (float): Sigmoid threshold when C == 1. Default 0.3.
        test_cfg (dict, optional): ``mode='whole'`` (default) or ``'slide'``
            with ``crop_size``/``stride``; a static export only accepts its
            export shape, so slide crops must be that shape.
        data_preprocessor (dict, optional): The config's
            ``SegDataPreProcessor``.

    Raises:
        FileNotFoundError, ValueError, ImportError: From
            :class:`~mmseg_ext.deploy.BackendModel`.
    """

    def __init__(self,
                 model_file: str,
                 backend: str,
                 num_classes: int,
                 precision: str = 'fp32',
                 device: str = 'cpu',
                 num_threads: Optional[int] = None,
                 align_corners: bool = False,
                 threshold: float = 0.3,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        from .backends import BackendModel
        self.backend_model = BackendModel(
            resolve_model_file(model_file, backend), backend, precision,
            device, num_threads)
        self.num_classes = self.out_channels = num_classes
        self.align_corners = align_corners
        # postprocess_result reads decode_head.threshold when C == 1
        self.decode_head = SimpleNamespace(threshold=threshold)
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))

    # mmseg's test-time path, reused as is: batch metas -> whole / slide
    # inference over encode_decode -> postprocess_result
    predict = EncoderDecoder.predict
    inference = EncoderDecoder.inference
    whole_inference = EncoderDecoder.whole_inference
    slide_inference = EncoderDecoder.slide_inference

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """Logits (N, C, H, W) of normalised images (N, 3, H, W), on the
        inputs' device."""
        return self.backend_model(inputs).to(inputs.device)

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        """``mode='tensor'``: the backend's logits (N, C, H, W)."""
        return self.encode_decode(inputs, None)

    def extract_feat(self, inputs: torch.Tensor):
        raise NotImplementedError(
            'an exported model has no separate features; it maps images '
            'to logits (encode_decode)')

    def loss(self, inputs, data_samples):
        raise NotImplementedError('an exported model cannot be trained')


def backend_model_cfg(model_cfg: dict,
                      model_file: str,
                      backend: str,
                      precision: str = 'fp32',
                      device: str = 'cpu',
                      num_threads: Optional[int] = None) -> ConfigDict:
    """The ``model`` config evaluating ``model_file`` in place of
    ``model_cfg`` (a config's segmentor): its data preprocessor, test_cfg,
    number of classes and ``align_corners`` (of its decode head; the last
    one for a cascade) are kept.

    Raises:
        KeyError: If ``model_cfg`` has no ``decode_head``.
    """
    if 'decode_head' not in model_cfg:
        raise KeyError('model.decode_head is missing: the number of classes '
                       'of the exported model is read from it')
    head = model_cfg['decode_head']
    if isinstance(head, (list, tuple)):
        head = head[-1]
    return ConfigDict(
        type='BackendSegmentor',
        model_file=model_file,
        backend=backend,
        precision=precision,
        device=device,
        num_threads=num_threads,
        num_classes=head.get('out_channels') or head['num_classes'],
        align_corners=head.get('align_corners', False),
        threshold=head.get('threshold') or 0.3,
        test_cfg=model_cfg.get('test_cfg'),
        data_preprocessor=model_cfg.get('data_preprocessor'))
