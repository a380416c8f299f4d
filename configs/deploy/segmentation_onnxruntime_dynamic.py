_base_ = ['./segmentation_dynamic.py']
backend_config = dict(type='onnxruntime', precision='fp32')
