from .centroid_crop import CentroidRandomCrop
from .color_jitter import ColorJitter
from .edge import GenerateBoundary, boundary_from_label
from .gaussian_blur import RandomGaussianBlur

__all__ = [
    'CentroidRandomCrop', 'ColorJitter', 'GenerateBoundary',
    'boundary_from_label', 'RandomGaussianBlur'
]
