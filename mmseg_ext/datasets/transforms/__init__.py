from .centroid_crop import CentroidRandomCrop
from .color_jitter import ColorJitter
from .edge import GenerateBoundary, boundary_from_label
from .gaussian_blur import RandomGaussianBlur
from .sample_check import CheckLoadedSample, check_loaded_sample

__all__ = [
    'CentroidRandomCrop', 'ColorJitter', 'GenerateBoundary',
    'boundary_from_label', 'RandomGaussianBlur', 'CheckLoadedSample',
    'check_loaded_sample'
]
