from .class_balanced_bce_loss import ClassBalancedBCELoss, class_balanced_bce
from .isdnet_losses import (feature_affinity_loss, image_recon_loss,
                            spatial_affinity)
from .ohem_cross_entropy_loss import OhemCrossEntropyLoss, ohem_keep_mask
from .sc_loss import SCLoss, class_presence

__all__ = [
    'ClassBalancedBCELoss', 'OhemCrossEntropyLoss', 'SCLoss',
    'class_balanced_bce', 'class_presence', 'feature_affinity_loss',
    'image_recon_loss', 'ohem_keep_mask', 'spatial_affinity'
]
