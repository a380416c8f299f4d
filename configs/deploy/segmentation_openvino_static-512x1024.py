# OpenVINO IR (end2end.xml/.bin) beside end2end.onnx; fp32 inference
# precision set explicitly (its CPU plugin would pick bf16 on AVX512-BF16).
_base_ = ['./segmentation_static.py']
onnx_config = dict(input_shape=[1024, 512])
backend_config = dict(type='openvino', precision='fp32')
