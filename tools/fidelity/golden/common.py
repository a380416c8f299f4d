"""What every golden-fixture builder shares.

A builder runs the official code of a model, imported normally from the
checkout the user put on ``PYTHONPATH`` (nothing here edits ``sys.path``),
on CPU in float32, and saves what it computed with :func:`save_golden`.
The official code of 2020-2022 imports a few packages that a CPU machine
with today's stack lacks (``apex``, CUDA tensors, ``torchvision``);
:class:`OfficialCode` registers the stand-ins a builder names in
``sys.modules`` for the duration of the build only, and only where the real
package is not installed. Every stand-in replaces code whose result the
fixture does not depend on; each builder's docstring says which and why.

Everything random comes from one ``torch.Generator`` with a fixed seed, and
the forwards run on one intra-op thread, so two builds give tensor-equal
files.
"""
import functools
import importlib
import importlib.util
import math
import os.path as osp
import sys
import types
from contextlib import ExitStack, contextmanager
from typing import Callable, Dict, Iterator, Optional, Sequence
from unittest import mock

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from mmseg_ext.utils.atomic_io import atomic_file

CLI = 'python -m tools.misc.make_golden'


def apex_stub() -> Dict[str, types.ModuleType]:
    """``apex`` as far as the official SFNet/PFNet model code uses it.

    ``network/nn/mynn.py`` decorates ``Upsample`` with
    ``apex.amp.float_function`` (a cast to float32 under mixed precision: the
    identity for the float32 inputs of a fixture) and ``config.py`` names
    ``apex.parallel.SyncBatchNorm`` for ``--syncbn`` runs (never built here:
    the fixtures use ``torch.nn.BatchNorm2d``).
    """
    apex = types.ModuleType('apex')
    amp = types.ModuleType('apex.amp')
    amp.float_function = lambda func: func
    parallel = types.ModuleType('apex.parallel')
    parallel.SyncBatchNorm = nn.SyncBatchNorm
    apex.amp, apex.parallel = amp, parallel
    return {'apex': apex, 'apex.amp': amp, 'apex.parallel': parallel}


def torchvision_stub() -> Dict[str, types.ModuleType]:
    """Empty ``torchvision`` / ``torchvision.transforms`` modules.

    The official dataset code imports ``torchvision.transforms`` at module
    level for its training loaders; the functions the builders call
    (``get_boundary``, ``joint_transforms.Resize``, ``MaskToTensor``,
    ``RandomGaussianBlur``) never use it.
    """
    tv = types.ModuleType('torchvision')
    tv.transforms = types.ModuleType('torchvision.transforms')
    return {'torchvision': tv, 'torchvision.transforms': tv.transforms}


class OfficialCode:
    """The official code of ``repo`` at ``commit``, for one build.

    Use as a context manager; inside it, :meth:`import_module` imports a
    module of the checkout on ``PYTHONPATH``. On exit the stand-ins and
    every module imported from the checkout leave ``sys.modules`` again, so
    builds of two official repositories (both have top-level ``network``,
    ``config``, ...) can run in one process one after the other.

    Args:
        repo (str): ``owner/name`` on GitHub, e.g. ``'lxtGH/SFSegNets'``.
        commit (str): The commit the fixture was made with.
        fixture (str): The builder's name (``tools/misc/make_golden.py``
            NAME), for the error messages.
        stubs (dict): ``top-level name -> factory`` returning
            ``{module name: module}`` (e.g. :func:`apex_stub`); registered
            only if the real package cannot be found.
    """

    def __init__(self,
                 repo: str,
                 commit: str,
                 fixture: str,
                 stubs: Optional[Dict[str, Callable]] = None):
        self.repo, self.commit, self.fixture = repo, commit, fixture
        self.stubs = stubs or {}
        self.root = None
        self._registered = []
        self._before = set()

    @property
    def checkout(self) -> str:
        return self.repo.split('/')[1]

    def hint(self) -> str:
        """How to make the official code importable (for messages)."""
        return (f'check out https://github.com/{self.repo} at commit '
                f'{self.commit} and put it on the path: '
                f'PYTHONPATH=/path/to/{self.checkout} {CLI} {self.fixture} '
                f'--out tests/data/{self.fixture}_golden.pth')

    def __enter__(self) -> 'OfficialCode':
        self._before = set(sys.modules)
        for name, factory in self.stubs.items():
            if name not in sys.modules and \
                    importlib.util.find_spec(name) is None:
                for mod_name, module in factory().items():
                    sys.modules[mod_name] = module
                    self._registered.append(mod_name)
        return self

    def __exit__(self, *exc) -> None:
        for name in self._registered:
            sys.modules.pop(name, None)
        self._registered = []
        if self.root is None:
            return
        for name in set(sys.modules) - self._before:
            path = getattr(sys.modules[name], '__file__', None) or ''
            if osp.abspath(path).startswith(self.root + osp.sep):
                del sys.modules[name]

    def import_module(self, name: str) -> types.ModuleType:
        """Import ``name`` (e.g. ``'network.sfnet_resnet'``) normally.

        Raises:
            ImportError: If ``name`` is not on the path (the message names
                the repository, the commit and the ``PYTHONPATH`` fix), or
                if the official code imports a package that is not
                installed (the message names it).
        """
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            parts = name.split('.')
            if err.name in {
                    '.'.join(parts[:i])
                    for i in range(1,
                                   len(parts) + 1)
            }:
                raise ImportError(
                    f'{self.fixture}: the official code ({name!r} of '
                    f'{self.repo}) is not importable; {self.hint()}') from err
            raise ImportError(
                f'{self.fixture}: the official code of {self.repo} imports '
                f'{err.name!r}, which is not installed (pip install '
                f'{err.name.split(".")[0]})') from err
        if self.root is None:
            root = osp.abspath(module.__file__)
            for _ in range(len(name.split('.'))):
                root = osp.dirname(root)
            if osp.basename(module.__file__) == '__init__.py':
                root = osp.dirname(root)
            self.root = root
        return module


@contextmanager
def bn_and_no_pretrained(code: OfficialCode,
                         depths: Sequence[int]) -> Iterator[None]:
    """SFSegNets / PFSegNets model code as a CPU fixture build needs it.

    ``cfg.MODEL.BNFUNC`` (``config.py``) is ``torch.nn.BatchNorm2d``, what
    ``config.assert_and_infer_cfg`` sets without ``--syncbn``; the
    ``network.resnet_d.resnet<depth>`` constructors are called with
    ``pretrained=False`` (the ImageNet files under ``./pretrained_models``
    they would load are overwritten by the fixture's weights anyway).
    """
    config = code.import_module('config')
    resnet_d = code.import_module('network.resnet_d')
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.dict(config.cfg.MODEL, {'BNFUNC': nn.BatchNorm2d}))
        for depth in depths:
            name = f'resnet{depth}'
            stack.enter_context(
                mock.patch.object(
                    resnet_d, name,
                    functools.partial(
                        getattr(resnet_d, name), pretrained=False)))
        yield


@contextmanager
def cuda_calls_on_cpu() -> Iterator[None]:
    """``Tensor.cuda()`` and ``Module.cuda()`` return ``self`` (CPU).

    For official loss code that moves its weights and inputs to the GPU
    unconditionally (PFNet ``loss.py``): the fixture is computed on CPU in
    float32, whether or not a GPU is present.
    """
    saved = torch.Tensor.__dict__.get('cuda'), nn.Module.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    nn.Module.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        if saved[0] is None:
            del torch.Tensor.cuda
        else:
            torch.Tensor.cuda = saved[0]
        nn.Module.cuda = saved[1]


@contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread: the same float sums on every machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def uniform_(t: torch.Tensor, gen: torch.Generator, low: float,
             high: float) -> torch.Tensor:
    """Fill ``t`` in place with U(``low``, ``high``) drawn from ``gen``."""
    with torch.no_grad():
        return t.copy_(torch.rand(t.shape, generator=gen) * (high - low) + low)


@torch.no_grad()
def randomize_(module: nn.Module, gen: torch.Generator) -> nn.Module:
    """Fill ``module``'s weights and BN statistics from ``gen``, in place.

    Convolutions: weights and biases U(-b, b), b = 1 / sqrt(fan_in) (the
    range of PyTorch's default init); batch norms: weight U(0.5, 1.5), bias
    and running mean U(-0.5, 0.5), running var U(0.5, 1.5) (random
    statistics, so that eval mode does not reduce BN to the identity).
    Modules are visited in definition order. Put the module in eval mode
    yourself.

    Raises:
        TypeError: If a module other than a convolution or a batch norm
            holds parameters (the fill would not cover it).
    """
    for name, mod in module.named_modules():
        if isinstance(mod, _ConvNd):
            bound = 1.0 / math.sqrt(mod.weight[0].numel())
            uniform_(mod.weight, gen, -bound, bound)
            if mod.bias is not None:
                uniform_(mod.bias, gen, -bound, bound)
        elif isinstance(mod, _BatchNorm):
            uniform_(mod.weight, gen, 0.5, 1.5)
            uniform_(mod.bias, gen, -0.5, 0.5)
            uniform_(mod.running_mean, gen, -0.5, 0.5)
            uniform_(mod.running_var, gen, 0.5, 1.5)
        elif any(True for _ in mod.parameters(recurse=False)):
            raise TypeError(f'randomize_: cannot fill {name!r} '
                            f'({type(mod).__name__})')
    return module


def randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    """``torch.randn(shape)`` from ``gen`` (float32)."""
    return torch.randn(shape, generator=gen)


def key_shapes(module: nn.Module, as_type: type = list) -> Dict[str, list]:
    """``{state-dict key: shape}`` of ``module``, shapes as ``as_type``."""
    return {k: as_type(v.shape) for k, v in module.state_dict().items()}


def save_golden(obj, out_path: str) -> None:
    """``torch.save(obj)`` to ``out_path`` through ``atomic_file``."""
    with atomic_file(out_path) as f:
        torch.save(obj, f)


def build_golden(name: str, out_path: str, **opts) -> None:
    """``tools.fidelity.golden.<name>.build(out_path, **opts)``.

    Raises:
        ImportError: If there is no builder ``name`` (the message lists the
            builders) or its official code is not importable.
    """
    import pkgutil

    from tools.fidelity import golden
    names = sorted(
        m.name for m in pkgutil.iter_modules(golden.__path__)
        if m.name != 'common' and not m.name.startswith('_'))
    if name not in names:
        raise ImportError(f'no golden builder {name!r}; builders: '
                          f'{", ".join(names)}')
    importlib.import_module(f'tools.fidelity.golden.{name}').build(
        out_path, **opts)
