from .sf_neck import FAM, SFNeck

__all__ = ['FAM', 'SFNeck']
