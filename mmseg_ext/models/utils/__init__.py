from .flow_warp import base_grid, flow_warp
from .label_check import check_seg_labels
from .laplacian_pyramid import laplacian_pyramid, laplacian_residual_input
from .point_flow_ops import (coarse_to_fine_indices, point_affinity_fuse,
                             scatter_points, topk_grid_points)
from .relation_aware_fusion import (ChannelAtt, RelationAwareFusion,
                                    grouped_channel_affinity)
from .sr_decoder import SegmentationHead, SRDecoder
from .weight_init import (PaddleDefaultInit, TorchDefaultInit,
                          paddle_default_init_, torch_default_init_)

__all__ = [
    'base_grid', 'check_seg_labels', 'coarse_to_fine_indices', 'flow_warp',
    'laplacian_pyramid', 'laplacian_residual_input', 'point_affinity_fuse',
    'scatter_points', 'topk_grid_points', 'ChannelAtt', 'RelationAwareFusion',
    'grouped_channel_affinity', 'SegmentationHead', 'SRDecoder',
    'PaddleDefaultInit', 'TorchDefaultInit', 'paddle_default_init_',
    'torch_default_init_'
]
