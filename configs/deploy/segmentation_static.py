# Static-shape ONNX export (mmdeploy's configs/mmseg/segmentation_static.py
# shape). onnx_config.input_shape is mmdeploy's [width, height]; None takes
# --shape or the sample image's size. The graph outputs logits (N, C, H, W),
# not mmdeploy's default argmax.
onnx_config = dict(
    type='onnx',
    opset_version=18,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None)
codebase_config = dict(type='mmseg', task='Segmentation', with_argmax=False)
