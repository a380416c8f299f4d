from .aligned_fpn_neck import AlignedFPNNeck
from .pf_neck import PFNeck, PointFlowModule, PointMatcher
from .sf_neck import FAM, SFNeck

__all__ = [
    'AlignedFPNNeck', 'FAM', 'PFNeck', 'PointFlowModule', 'PointMatcher',
    'SFNeck'
]
