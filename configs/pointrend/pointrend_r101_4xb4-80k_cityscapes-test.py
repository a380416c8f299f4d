# Cityscapes test-server submission for pointrend_r101_4xb4-80k_cityscapes-512x1024:
# predicts leftImg8bit/test at full resolution (PointHead subdivides the 1/4
# coarse logits twice, 8192 points a step) and writes one
# <city>_<seq>_<frame>_leftImg8bit.png labelIds PNG per image into
# work_dirs/format_results (no metric computed).
_base_ = ['./pointrend_r101_4xb4-80k_cityscapes-512x1024.py', '../_base_/datasets/cityscapes-test.py']
test_dataloader = {{_base_.cityscapes_test_dataloader}}
test_evaluator = {{_base_.cityscapes_test_evaluator}}
