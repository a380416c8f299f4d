"""mmseg_ext: published segmentation models as MMSegmentation 1.x plugins.

Importing the package (configs do it through ``custom_imports``) registers
every component into ``mmseg.registry`` and makes mmengine checkpoints load
under torch's ``weights_only=True`` default (see
:mod:`mmseg_ext.utils.checkpoint`); on machines without CUDA it lets
mmengine's ``pytorch`` launcher start with gloo (:mod:`mmseg_ext.utils.dist`).
"""
from .utils.checkpoint import register_checkpoint_safe_globals
from .utils.dist import enable_cpu_pytorch_launcher
from .version import __version__

register_checkpoint_safe_globals()
enable_cpu_pytorch_launcher()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'register_checkpoint_safe_globals']
