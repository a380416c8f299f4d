from .camvid import CamVidDataset
from .checked import (CheckedCityscapesDataset, CheckediSAIDDataset,
                      CheckedPascalContextDataset,
                      CheckedPascalContextDataset59, SampleCheckMixin)
from .class_uniform import ClassUniformDataset
from .deepglobe import DeepGlobeDataset
from .inria import InriaAerialDataset
from .samplers import ClassUniformSampler
from .transforms import *  # noqa: F401,F403

__all__ = [
    'CamVidDataset', 'ClassUniformDataset', 'ClassUniformSampler',
    'DeepGlobeDataset', 'InriaAerialDataset', 'SampleCheckMixin',
    'CheckedCityscapesDataset', 'CheckediSAIDDataset',
    'CheckedPascalContextDataset', 'CheckedPascalContextDataset59'
]
