# Cityscapes test-server submission for
# pointrend_r50_4xb4-80k_cityscapes-512x1024:
# predicts leftImg8bit/test at full resolution (PointHead subdivides the
# 1/4 coarse logits twice, 8192 points a step).
# The test split has no ground truth: run it with the test entry's
# --format-only, which writes one <city>_<seq>_<frame>_leftImg8bit.png
# labelIds PNG per image and computes no metric:
#   mim test mmseg_ext THIS_CONFIG --checkpoint CKPT --format-only --out DIR
_base_ = './pointrend_r50_4xb4-80k_cityscapes-512x1024.py'
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_prefix=dict(_delete_=True, img_path='leftImg8bit/test'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
            dict(type='PackSegInputs')
        ]))
