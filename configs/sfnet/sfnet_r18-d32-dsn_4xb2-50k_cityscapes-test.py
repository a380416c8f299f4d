# Cityscapes test-server submission for sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024:
# predicts leftImg8bit/test and writes one <city>_<seq>_<frame>_leftImg8bit.png
# labelIds PNG per image into work_dirs/format_results (no metric computed).
_base_ = ['./sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py', '../_base_/datasets/cityscapes-test.py']
test_dataloader = {{_base_.cityscapes_test_dataloader}}
test_evaluator = {{_base_.cityscapes_test_evaluator}}
