from .label_check_hook import LabelCheckHook
from .random_state_hook import RandomStateHook

__all__ = ['LabelCheckHook', 'RandomStateHook']
