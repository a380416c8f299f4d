_base_ = ['./segmentation_static.py']
onnx_config = dict(input_shape=[1024, 512])
backend_config = dict(type='tensorrt', precision='fp32', device='cuda')
