from .ginet_head import GINetHead
from .glore_head import GloReHead
from .isd_head import ISDHead, ISDHeadOutputs
from .pf_head import PFHead
from .refine_aspp_head import RefineASPPHead
from .sf_head import SFHead

__all__ = [
    'GINetHead', 'GloReHead', 'ISDHead', 'ISDHeadOutputs', 'PFHead',
    'RefineASPPHead', 'SFHead'
]
