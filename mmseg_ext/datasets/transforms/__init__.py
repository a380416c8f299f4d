from .edge import GenerateBoundary, boundary_from_label
from .gaussian_blur import RandomGaussianBlur

__all__ = ['GenerateBoundary', 'boundary_from_label', 'RandomGaussianBlur']
