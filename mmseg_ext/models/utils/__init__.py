from .flow_warp import base_grid, flow_warp

__all__ = ['base_grid', 'flow_warp']
