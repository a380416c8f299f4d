from .checked import (CheckedCityscapesDataset, CheckediSAIDDataset,
                      CheckedPascalContextDataset,
                      CheckedPascalContextDataset59, SampleCheckMixin)
from .deepglobe import DeepGlobeDataset
from .inria import InriaAerialDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'DeepGlobeDataset', 'InriaAerialDataset', 'SampleCheckMixin',
    'CheckedCityscapesDataset', 'CheckediSAIDDataset',
    'CheckedPascalContextDataset', 'CheckedPascalContextDataset59'
]
