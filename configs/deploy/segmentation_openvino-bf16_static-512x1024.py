# bf16 inference precision (approximate: argmax agreement, not 1e-4).
_base_ = ['./segmentation_openvino_static-512x1024.py']
backend_config = dict(precision='bf16')
