"""Deployment: export a segmentor to ONNX and run it with an inference
runtime (ONNX Runtime, OpenVINO, TensorRT); see the README's "Deployment"
section."""
from .backends import BACKENDS, PRECISIONS, BackendModel

__all__ = ['BACKENDS', 'PRECISIONS', 'BackendModel']
