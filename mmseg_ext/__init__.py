"""mmseg_ext: published segmentation models as MMSegmentation 1.x plugins.

Importing the package (configs do it through ``custom_imports``) registers
every component into ``mmseg.registry`` and makes mmengine checkpoints load
under torch's ``weights_only=True`` default (see
:mod:`mmseg_ext.utils.checkpoint`); on machines without CUDA it lets
mmengine's ``pytorch`` launcher start with gloo (:mod:`mmseg_ext.utils.dist`);
pretrained weights that cannot be downloaded or found raise an error naming
the file and how to give a local path (:mod:`mmseg_ext.utils.pretrained`).
"""
from .utils.checkpoint import register_checkpoint_safe_globals
from .utils.dist import enable_cpu_pytorch_launcher
from .utils.pretrained import register_pretrained_loaders
from .version import __version__

register_checkpoint_safe_globals()
enable_cpu_pytorch_launcher()
register_pretrained_loaders()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'register_checkpoint_safe_globals']
