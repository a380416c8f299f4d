"""``tests/data/golden/glore_train_golden.pth``: K SGD steps of the GloRe unit.

Official code: https://github.com/facebookresearch/GloRe, commit ``9c6a734``
(``network/global_reasoning_unit.py:GloRe_Unit_2D``). GloRe's segmentation
network and its training code are not public (the repository ships the
unit and video models; the Paddle port is another code base), so this
fixture checks the *unit's* training step only: ``GloRe_Unit_2D(64, 16)``
in train mode (its ``blocker`` BN with batch statistics), from weights
drawn as :mod:`.glore` draws them (N(0, 0.1^2)), followed by a fixed 1x1
read-out to 5 classes and cross-entropy (the readout is not trained: it
stands for the head), trained :data:`~._train_step.K_STEPS` iterations of
``torch.optim.SGD`` (lr 0.01, momentum 0.9, weight decay 1e-4) on three
(2, 64, 16, 16) inputs. Regenerate with::

    PYTHONPATH=/path/to/GloRe python -m tools.misc.make_golden glore_train \\
        --out tests/data/golden/glore_train_golden.pth

Stored: ``state_dict`` (initial, official layout = ours), ``readout``
(weight, bias), ``inputs``, ``labels``, ``steps`` (``loss`` per step) and
``sketch`` (:func:`~._train_step.sketch`).
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F

from . import _train_step as ts
from .common import one_thread, save_golden
from .glore import _clone_state, _fill, import_official

SEED = 2019
NUM_IN, NUM_MID, NUM_CLASSES = 64, 16, 5
SHAPE = (2, NUM_IN, 16, 16)


def unit_loss(unit, readout, x, label):
    """Cross-entropy of the fixed read-out of ``unit(x)``."""
    logits = F.conv2d(unit(x), readout['weight'], readout['bias'])
    return F.cross_entropy(logits, label)


def build(out_path: str, seed: int = SEED) -> None:
    """Run the official unit's training steps; save the fixture.

    Raises:
        ImportError: If the official GloRe checkout is not on ``PYTHONPATH``.
    """
    official = import_official()
    with one_thread():
        gen = torch.Generator().manual_seed(int(seed))
        unit = official.GloRe_Unit_2D(NUM_IN, NUM_MID)
        _fill(unit, gen)
        init = _clone_state(unit)
        readout = dict(
            weight=torch.randn(NUM_CLASSES, NUM_IN, 1, 1, generator=gen) * 0.2,
            bias=torch.zeros(NUM_CLASSES))
        inputs = [torch.randn(SHAPE, generator=gen) for _ in range(ts.K_STEPS)]
        labels = [
            torch.randint(
                0, NUM_CLASSES, (SHAPE[0], ) + SHAPE[2:], generator=gen)
            for _ in range(ts.K_STEPS)
        ]
        batches = list(zip(inputs, labels))
        steps = ts.official_steps(
            unit, batches, lambda net, b: (unit_loss(net, readout, *b), {}))
        after = _clone_state(unit)
    save_golden(
        OrderedDict(
            meta=dict(
                official_repo='facebookresearch/GloRe',
                official_commit='9c6a734',
                generator=f'tools.fidelity.golden.glore_train.build('
                f'seed={seed}); torch {torch.__version__}, CPU, float32, '
                'one thread, train mode'),
            state_dict=init,
            readout=readout,
            inputs=inputs,
            labels=labels,
            steps=steps,
            sketch=ts.sketch(init, after)), out_path)
