"""Import the official ISDNet modules next to MMSegmentation 1.x.

The official code (cedricgsh/ISDNet, commit 7341335) is a fork of
MMSegmentation 0.x: its top-level package is also called ``mmseg`` and its
``mmseg/__init__.py`` refuses mmcv 2.x. It cannot go on ``PYTHONPATH`` in
a process that imports ``mmseg_ext`` (the official ``mmseg`` would shadow
MMSegmentation 1.x), so :func:`official_isdnet` takes the checkout's root and,
for the duration of a ``with`` block only, swaps the ``mmseg`` entries of
``sys.modules`` for bare packages whose ``__path__`` is the official folders.
The official files under test are then imported normally (their relative
and ``mmseg.*`` imports resolve to the checkout) without running any
official ``__init__.py``. The minimal stand-ins registered meanwhile:

* ``mmseg.models.builder``: a name -> class registry (the official one is
  built on ``mmcv.utils.Registry`` of mmcv 1.x); ``build_loss`` returns
  ``None``, since no fixture holds a decode loss and losses have no state;
* ``mmseg.models.utils``: the official ``res_layer.ResLayer`` only (the
  package ``__init__`` imports transformer bricks of mmcv 1.x);
* ``mmseg.models.losses.accuracy`` and ``mmseg.core`` (``add_prefix``,
  ``build_pixel_sampler``): used by the training losses only;
* ``mmcv.runner`` (``BaseModule``, ``Sequential`` from mmengine, the fp16
  decorators as no-ops: everything runs in float32) and
  ``mmcv.utils.parrots_wrapper._BatchNorm`` (torch's), which mmcv 2.x
  dropped.

``mmcv.cnn`` (``ConvModule``, ``build_conv_layer``, ``build_norm_layer``)
and the official ``mmseg/ops`` (pure torch) are the real ones. On leaving the
block every entry is restored, so MMSegmentation 1.x is untouched; the
imported official classes keep working.
"""
import os.path as osp
import sys
import types
from contextlib import contextmanager
from importlib import import_module

import torch.nn as nn
from mmengine.model import BaseModule, Sequential

REPO = 'cedricgsh/ISDNet'
COMMIT = '7341335'
ENV = 'ISDNET_ROOT'
# official modules the fixture needs, relative to the checkout's ``mmseg``
MODULES = ('models.decode_heads.isdhead', 'models.decode_heads.stdc_head',
           'models.decode_heads.aspp_refine_head',
           'models.decode_heads.fcn_head', 'models.backbones.resnet',
           'models.segmentors.encoder_decoder_refine')
CONFIG = osp.join('configs', 'isdnet',
                  'isdnet_r18-d8_1224x1224_80k_DeepGlobe.py')
STUBBED = ('mmcv.runner', 'mmcv.utils.parrots_wrapper')


def missing_checkout(detail: str) -> ImportError:
    """The ImportError raised when no official checkout is given."""
    return ImportError(
        f'the official ISDNet code is needed ({detail}): clone '
        f'https://github.com/{REPO} (commit {COMMIT}) and pass its root as '
        f'official_root or in ${ENV}, e.g. {ENV}=/path/to/ISDNet python '
        'tools/misc/make_golden.py isdnet --out tests/data/isdnet_golden.pth'
        ' (not on PYTHONPATH: its package is also named mmseg and would '
        'shadow MMSegmentation 1.x)')


def checkout_root(root) -> str:
    """Check that ``root`` is an ISDNet checkout; return it.

    Raises:
        ImportError: If ``root`` is empty or lacks the official files.
    """
    if not root:
        raise missing_checkout(f'${ENV} is not set')
    for rel in MODULES + ('ops.wrappers', ):
        path = osp.join(root, 'mmseg', *rel.split('.')) + '.py'
        if not osp.isfile(path):
            raise missing_checkout(f'{path} does not exist')
    if not osp.isfile(osp.join(root, CONFIG)):
        raise missing_checkout(f'{osp.join(root, CONFIG)} does not exist')
    return root


class _Registry(dict):
    """``register_module()`` and ``build(cfg)`` of mmcv 1.x, nothing more."""

    def register_module(self, name=None, force=False, module=None):

        def register(cls):
            self[name or cls.__name__] = cls
            return cls

        return register if module is None else register(module)

    def build(self, cfg, default_args=None):
        args = dict(default_args or {}, **cfg)
        return self[args.pop('type')](**args)


def _unused(name):

    def fail(*args, **kwargs):
        raise NotImplementedError(f'{name} is not stubbed for the fixtures')

    return fail


def _package(name, path):
    module = types.ModuleType(name)
    module.__path__ = [path]
    return module


def _stubs(root):
    registry = _Registry()
    builder = types.ModuleType('mmseg.models.builder')
    builder.MODELS = builder.BACKBONES = builder.NECKS = registry
    builder.HEADS = builder.LOSSES = builder.SEGMENTORS = registry
    builder.build_backbone = builder.build_neck = registry.build
    builder.build_head = builder.build_segmentor = registry.build
    builder.build_loss = lambda cfg: None
    runner = types.ModuleType('mmcv.runner')
    runner.BaseModule, runner.Sequential = BaseModule, Sequential
    runner.auto_fp16 = runner.force_fp32 = lambda *a, **k: (lambda f: f)
    parrots = types.ModuleType('mmcv.utils.parrots_wrapper')
    parrots._BatchNorm = nn.modules.batchnorm._BatchNorm
    core = types.ModuleType('mmseg.core')
    core.add_prefix = lambda d, p: {f'{p}.{k}': v for k, v in d.items()}
    core.build_pixel_sampler = _unused('build_pixel_sampler')
    losses = types.ModuleType('mmseg.models.losses')
    losses.accuracy = _unused('accuracy')
    pkg = osp.join(root, 'mmseg')
    stubs = {
        'mmseg': _package('mmseg', pkg),
        'mmseg.core': core,
        'mmseg.models': _package('mmseg.models', osp.join(pkg, 'models')),
        'mmseg.models.builder': builder,
        'mmseg.models.losses': losses,
        'mmcv.runner': runner,
        'mmcv.utils.parrots_wrapper': parrots,
    }
    for sub in ('backbones', 'decode_heads', 'segmentors', 'utils'):
        name = f'mmseg.models.{sub}'
        stubs[name] = _package(name, osp.join(pkg, 'models', sub))
    return stubs


def _owned(name):
    return name == 'mmseg' or name.startswith('mmseg.') or name in STUBBED


@contextmanager
def official_isdnet(root: str):
    """Within the block, the official modules; ``sys.modules`` restored after.

    Args:
        root (str): Root of a cedricgsh/ISDNet checkout (commit 7341335).

    Yields:
        types.SimpleNamespace: The official modules, by their file name
        (``isdhead``, ``stdc_head``, ``aspp_refine_head``, ``fcn_head``,
        ``resnet``, ``encoder_decoder_refine``) and ``registry`` (the
        name -> class registry they registered into).

    Raises:
        ImportError: If ``root`` is not an ISDNet checkout.
    """
    root = checkout_root(root)
    saved = {k: v for k, v in sys.modules.items() if _owned(k)}
    for name in saved:
        del sys.modules[name]
    try:
        stubs = _stubs(root)
        sys.modules.update(stubs)
        utils = stubs['mmseg.models.utils']
        utils.ResLayer = import_module('mmseg.models.utils.res_layer').ResLayer
        found = {
            rel.rsplit('.', 1)[-1]: import_module(f'mmseg.{rel}')
            for rel in MODULES
        }
        yield types.SimpleNamespace(
            registry=stubs['mmseg.models.builder'].MODELS, **found)
    finally:
        for name in [k for k in sys.modules if _owned(k)]:
            del sys.modules[name]
        sys.modules.update(saved)
