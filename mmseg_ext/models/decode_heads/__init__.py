from .sf_head import SFHead

__all__ = ['SFHead']
