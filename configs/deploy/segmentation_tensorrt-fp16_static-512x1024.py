# TensorRT fp16 engine (needs a CUDA GPU and pip install tensorrt).
_base_ = ['./segmentation_static.py']
onnx_config = dict(input_shape=[1024, 512])
backend_config = dict(type='tensorrt', precision='fp16', device='cuda')
