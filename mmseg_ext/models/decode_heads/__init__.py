from .pf_head import PFHead
from .sf_head import SFHead

__all__ = ['PFHead', 'SFHead']
