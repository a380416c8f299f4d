from .class_balanced_bce_loss import ClassBalancedBCELoss, class_balanced_bce
from .ohem_cross_entropy_loss import OhemCrossEntropyLoss, ohem_keep_mask

__all__ = [
    'ClassBalancedBCELoss', 'OhemCrossEntropyLoss', 'class_balanced_bce',
    'ohem_keep_mask'
]
