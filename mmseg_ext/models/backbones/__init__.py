from .sf_resnet import SFResNet
from .stdc_shallow_net import STDCShallowNet

__all__ = ['SFResNet', 'STDCShallowNet']
