"""A checkpoint cannot widen the ``getattr`` the weights_only load allows.

mmengine's ``HistoryBuffer.__setstate__`` merges a pickled
``statistics_methods`` dict into the class-level ``_statistics_methods``;
the ``getattr`` stand-in (``mmseg_ext.utils.checkpoint``'s
``history_buffer_getattr``) must only allow the names code fixed, so this
crafted file (a buffer state registering ``__subclasses__`` and re-binding
``mean`` to ``max``, then ``getattr(HistoryBuffer, '__subclasses__')``) is
refused and changes nothing.
"""
import io
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmseg_ext.utils.checkpoint import (TORCH_LOADS_WEIGHTS_ONLY,
                                        code_registered_statistics,
                                        history_buffer_getattr)

# the allow-list and the HistoryBuffer guard are installed only where torch
# loads with weights_only=True by default (torch < 2.6 runs any pickle)
pytestmark = pytest.mark.skipif(
    not TORCH_LOADS_WEIGHTS_ONLY,
    reason=f'torch {torch.__version__} loads with weights_only=False by '
    'default (weights_only=True is the default from 2.6)')

MEAN = HistoryBuffer.mean


class _Getattr:
    """Pickles as ``getattr(target, name)``."""

    def __init__(self, target, name):
        self.target, self.name = target, name

    def __reduce__(self):
        return getattr, (self.target, self.name)


def _crafted_buffer(methods):
    """A HistoryBuffer that pickles (NEWOBJ + BUILD, as mmengine's do) with
    ``methods`` as its ``statistics_methods``."""
    buf = HistoryBuffer.__new__(HistoryBuffer)
    state = dict(
        max_length=10,
        _log_history=np.array([1.0, 3.0]),
        _count_history=np.array([1, 1]),
        statistics_methods=methods)
    buf.__getstate__ = lambda: state
    return buf


def _crafted_checkpoint(name='__subclasses__'):
    buf = io.BytesIO()
    torch.save(
        {
            'message_hub': {
                'log_scalars': {
                    'train/loss':
                    _crafted_buffer({
                        name: HistoryBuffer.min,
                        'mean': HistoryBuffer.max
                    })
                }
            },
            'x': _Getattr(HistoryBuffer, name),
        }, buf)
    buf.seek(0)
    return buf


def _assert_untouched():
    methods = HistoryBuffer._statistics_methods
    assert HistoryBuffer.mean is MEAN
    assert methods.get('mean', MEAN) is MEAN
    assert '__subclasses__' not in methods and '__dict__' not in methods
    hb = HistoryBuffer([1.0, 3.0], [1, 1])
    assert hb.statistics('mean') == 2.0


@pytest.mark.parametrize('name', ['__subclasses__', '__dict__'])
def test_name_registered_by_a_loaded_state_is_refused(name):
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        torch.load(_crafted_checkpoint(name))  # weights_only=True
    _assert_untouched()


def test_trusted_load_cannot_widen_the_allow_list_either():
    # a weights_only=False load of the same state (a trusted file) still
    # does not add the name, so a later weights_only load refuses it
    with pytest.warns(RuntimeWarning, match="'__subclasses__'"):
        pickle.loads(
            pickle.dumps(
                _crafted_buffer({
                    '__subclasses__': HistoryBuffer.min,
                    'mean': HistoryBuffer.max
                }),
                protocol=2))
    _assert_untouched()
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        history_buffer_getattr(HistoryBuffer, '__subclasses__')


def mmseg_ext_test_last_two(self):
    """A statistics method registered by code (module level, picklable)."""
    return self._log_history[-2:]


def test_statistics_registered_by_code_stay_allowed():
    from mmseg_ext.utils import checkpoint
    name = mmseg_ext_test_last_two.__name__
    HistoryBuffer.register_statistics(mmseg_ext_test_last_two)
    torch.serialization.add_safe_globals([mmseg_ext_test_last_two])
    try:
        fixed = code_registered_statistics()
        assert fixed[name] is mmseg_ext_test_last_two
        assert set(fixed) >= {'min', 'max', 'current', 'mean'}
        hb = HistoryBuffer([1.0, 2.0, 3.0], [1, 1, 1])
        assert list(hb.statistics(name)) == [2.0, 3.0]
        # a genuine buffer state (what the Runner writes) round-trips with
        # the registered method kept
        buf = io.BytesIO()
        torch.save({'b': hb}, buf)
        buf.seek(0)
        loaded = torch.load(buf)['b']  # weights_only=True
        assert loaded.mean() == 2.0 and loaded.max() == 3.0
        assert list(loaded.statistics(name)) == [2.0, 3.0]
        assert history_buffer_getattr(HistoryBuffer, 'mean') is MEAN
    finally:
        # leave the process as other tests expect it
        HistoryBuffer._statistics_methods.pop(name, None)
        checkpoint._CODE_STATISTICS.pop(name, None)
    _assert_untouched()
