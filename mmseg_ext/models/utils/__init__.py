from .flow_warp import base_grid, flow_warp
from .label_check import check_seg_labels

__all__ = ['base_grid', 'check_seg_labels', 'flow_warp']
