# TensorRT fp16, dynamic H x W (engine profile 256..2048 a side, tuned at
# 1024x1024; needs a CUDA GPU).
_base_ = ['./segmentation_dynamic.py']
onnx_config = dict(input_shape=[1024, 512])
backend_config = dict(type='tensorrt', precision='fp16', device='cuda')
