"""Inference helpers on top of mmseg's ``init_model``/``inference_model``."""
from .video import VideoStats, overlay, segment_video

__all__ = ['VideoStats', 'overlay', 'segment_video']
