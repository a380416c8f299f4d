from .class_balanced_bce_loss import ClassBalancedBCELoss, class_balanced_bce
from .ohem_cross_entropy_loss import OhemCrossEntropyLoss, ohem_keep_mask
from .sc_loss import SCLoss, class_presence

__all__ = [
    'ClassBalancedBCELoss', 'OhemCrossEntropyLoss', 'SCLoss',
    'class_balanced_bce', 'class_presence', 'ohem_keep_mask'
]
