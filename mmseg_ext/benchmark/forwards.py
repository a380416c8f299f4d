"""How one benchmarked forward is run: a small registry of modes.

A mode maps ``(model, inputs, data_samples)`` to a no-argument callable that
runs one forward; :func:`~.measure.time_forward` times that callable. Two
modes are built in:

- ``tensor``: ``model(inputs, mode='tensor')``, the network's logits;
- ``predict``: ``model.predict(inputs, data_samples)``, the whole test-time
  path (e.g. PointRend's subdivision steps, which mmseg 1.2.2's
  ``CascadeEncoderDecoder`` does not run in tensor mode, and the resize to
  the image size).

Another backend (an exported or compiled model) registers its own::

    @register_forward('onnxruntime')
    def onnxruntime_forward(model, inputs, data_samples):
        session = ...
        return lambda: session.run(None, {'input': inputs.numpy()})
"""
from typing import Callable, Dict, List

import torch

Forward = Callable[[], object]
FORWARDS: Dict[str, Callable[..., Forward]] = {}


def register_forward(name: str) -> Callable:
    """Decorator registering a mode ``name`` for :func:`make_forward`."""

    def register(factory: Callable[..., Forward]) -> Callable[..., Forward]:
        FORWARDS[name] = factory
        return factory

    return register


def check_mode(mode: str) -> None:
    """Raises:
        ValueError: If ``mode`` is not a registered mode.
    """
    if mode not in FORWARDS:
        names = ' or '.join(repr(name) for name in FORWARDS)
        raise ValueError(f'mode must be {names}, got {mode!r}')


def make_forward(mode: str, model: torch.nn.Module, inputs: torch.Tensor,
                 data_samples: List) -> Forward:
    """The callable running one forward of ``model`` in ``mode``.

    Args:
        mode (str): A registered mode (``'tensor'``, ``'predict'``, ...).
        model (nn.Module): The segmentor, in eval mode.
        inputs (Tensor): Images, shape (N, 3, H, W).
        data_samples (list[SegDataSample]): N samples with ``img_shape``,
            ``ori_shape`` and ``pad_shape`` (H, W).

    Raises:
        ValueError: If ``mode`` is not registered.
    """
    check_mode(mode)
    return FORWARDS[mode](model, inputs, data_samples)


@register_forward('tensor')
def tensor_forward(model, inputs, data_samples) -> Forward:
    """``model(inputs, mode='tensor')``: logits, shape (N, K, h, w)."""
    return lambda: model(inputs, mode='tensor')


@register_forward('predict')
def predict_forward(model, inputs, data_samples) -> Forward:
    """``model.predict(inputs, data_samples)``: N samples with
    ``pred_sem_seg`` of shape (1, H, W)."""
    return lambda: model.predict(inputs, data_samples)
