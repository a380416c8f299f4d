_base_ = ['./segmentation_dynamic.py']
backend_config = dict(type='openvino', precision='fp32')
