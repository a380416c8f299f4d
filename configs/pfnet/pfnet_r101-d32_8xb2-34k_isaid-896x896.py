# PFNet R-101 on iSAID, as lxtGH/PFSegNets
# `scripts/pointflow/train_iSAID_pfnet_r101.sh` (same schedule and PointFlow
# settings as R-50; no R-101 iSAID figure is published in the README).
_base_ = './pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
model = dict(backbone=dict(depth=101))
