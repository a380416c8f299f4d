from .ohem_cross_entropy_loss import OhemCrossEntropyLoss, ohem_keep_mask

__all__ = ['OhemCrossEntropyLoss', 'ohem_keep_mask']
