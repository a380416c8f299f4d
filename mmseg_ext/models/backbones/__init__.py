from .sf_resnet import SFResNet

__all__ = ['SFResNet']
