# ONNX Runtime int8: the static fp32 export quantized by
# onnxruntime.quantization.quantize_static into end2end.int8.onnx (QDQ,
# per-channel int8 weights, int8 activations; OpenVINO runs this file too);
# see mmseg_ext.deploy.quantize. calib_config follows mmdeploy's
# (create_calib); the images come from the model config's `split` dataloader
# through its pipeline and data preprocessor, so the split must yield the
# export size (--shape or --cfg-options on its Resize). method: minmax,
# entropy or percentile. float_only: the layers kept float
# (mmseg_ext.deploy.quantize_scope.RULES). accuracy_gate: int8 mIoU vs fp32
# PyTorch on `num_images` of `split` (None: all); the deploy command exits
# non-zero when int8 is more than `max_drop` points below, unless
# --allow-accuracy-drop.
_base_ = ['./segmentation_onnxruntime_static-512x1024.py']
backend_config = dict(precision='int8')
calib_config = dict(
    create_calib=True,
    split='val',
    num_images=32,
    method='minmax',
    float_only=('grid_coordinates', 'point_selection', 'image_pyramid',
                'logit_tail'))
accuracy_gate = dict(split='val', num_images=None, max_drop=1.0)
