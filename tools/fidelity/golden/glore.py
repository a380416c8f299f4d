"""Build ``tests/data/glore_golden.pth`` from the official GloRe unit.

The fixture holds the outputs of the official ``GloRe_Unit_2D``
(facebookresearch/GloRe, commit 9c6a734, ``network/global_reasoning_unit.py``;
Sec. 3 of `arXiv 1811.12814 <https://arxiv.org/abs/1811.12814>`_) run on the
CPU in float32, which
``tests/test_models/test_decode_heads/test_glore_head.py`` compares our
:class:`~mmseg_ext.models.decode_heads.glore_head.GloReUnit` against:

* ``unit``: ``GloRe_Unit_2D(32, 8)`` on a (2, 32, 13, 17) input; the output
  in eval mode (``output_eval``), in train mode (``output_train``, batch
  statistics) and the state after that train step
  (``state_dict_after_train``: running statistics updated);
* ``unit_normalize``: ``GloRe_Unit_2D(32, 8, normalize=True)`` on
  (2, 32, 13, 17), eval mode;
* ``unit_wide``: ``GloRe_Unit_2D(64, 16)`` on (1, 64, 9, 11), eval mode.

Each case also stores ``num_in``, ``num_mid``, ``normalize``, the ``input``
and the official ``state_dict`` (the layout our unit loads unchanged). Every
parameter is drawn from N(0, 0.1^2) (so the ``blocker`` BN is not the
official zero init and the graph branch carries signal), the blocker's
running mean from U(-1, 1) and its running variance from U(0.5, 1.5), and
the input from N(0, 1), all from one ``torch.Generator`` seeded per case,
and the unit runs with one torch thread: two builds give tensor-equal files
(byte-equal on one machine).

Usage, with a checkout of https://github.com/facebookresearch/GloRe (commit
9c6a734) whose root is on ``PYTHONPATH``::

    PYTHONPATH=/path/to/GloRe python -m tools.misc.make_golden glore \\
        --out tests/data/glore_golden.pth
"""
import copy
from collections import OrderedDict

import torch

from .common import one_thread, save_golden

REPO = 'facebookresearch/GloRe'
MODULE = 'network.global_reasoning_unit'
# name: (num_in, num_mid, normalize, input shape, generator seed, train step)
CASES = OrderedDict(
    unit=(32, 8, False, (2, 32, 13, 17), 0, True),
    unit_normalize=(32, 8, True, (2, 32, 13, 17), 1, False),
    unit_wide=(64, 16, False, (1, 64, 9, 11), 2, False),
)


def import_official():
    """Import the official ``network.global_reasoning_unit`` module.

    Returns:
        module: The official module (holds ``GloRe_Unit_2D``).

    Raises:
        ImportError: If the official GloRe checkout is not on ``PYTHONPATH``.
    """
    try:
        import importlib
        module = importlib.import_module(MODULE)
    except ImportError as err:
        raise ImportError(
            f'the official GloRe code ({MODULE}) is not importable: clone '
            f'https://github.com/{REPO} (commit 9c6a734) and put its root on '
            'PYTHONPATH, e.g. PYTHONPATH=/path/to/GloRe python '
            'tools/misc/make_golden.py glore --out '
            'tests/data/glore_golden.pth') from err
    if not hasattr(module, 'GloRe_Unit_2D'):
        raise ImportError(f'{module.__file__} has no GloRe_Unit_2D: put the '
                          f'root of a {REPO} checkout on PYTHONPATH')
    return module


def _fill(unit, gen):
    """Overwrite every parameter and the BN statistics from ``gen``."""
    with torch.no_grad():
        for param in unit.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.1)
        bn = unit.blocker
        bn.running_mean.copy_(
            torch.rand(bn.num_features, generator=gen) * 2 - 1)
        bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)


def _clone_state(module):
    return OrderedDict(
        (k, v.detach().clone()) for k, v in module.state_dict().items())


def make_case(official, num_in, num_mid, normalize, shape, seed, train):
    """Run one official unit and return its fixture entry (a dict)."""
    gen = torch.Generator().manual_seed(seed)
    unit = official.GloRe_Unit_2D(num_in, num_mid, normalize=normalize)
    _fill(unit, gen)
    x = torch.randn(shape, generator=gen)
    case = dict(
        num_in=num_in,
        num_mid=num_mid,
        normalize=normalize,
        input=x,
        state_dict=_clone_state(unit))
    with torch.no_grad():
        case['output_eval'] = unit.eval()(x)
        if train:
            trained = copy.deepcopy(unit).train()
            case['output_train'] = trained(x)
            case['state_dict_after_train'] = _clone_state(trained)
    return case


def build(out_path: str) -> None:
    """Write the GloRe golden fixture to ``out_path`` (``torch.save``).

    Args:
        out_path (str): Destination file, written atomically.

    Raises:
        ImportError: If the official GloRe checkout is not on ``PYTHONPATH``.
    """
    official = import_official()
    with one_thread():
        fixture = OrderedDict(
            (name, make_case(official, *spec)) for name, spec in CASES.items())
    save_golden(fixture, out_path)
