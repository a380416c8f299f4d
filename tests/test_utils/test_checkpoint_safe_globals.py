"""weights_only loading of mmengine checkpoints, and what stays refused."""
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmseg_ext.utils.checkpoint import (TORCH_LOADS_WEIGHTS_ONLY,
                                        history_buffer_getattr)

pytestmark = pytest.mark.skipif(
    not TORCH_LOADS_WEIGHTS_ONLY,
    reason=f'torch {torch.__version__} loads with weights_only=False by '
    'default (weights_only=True is the default from 2.6)')


class _GetattrPayload:
    """Pickles as getattr(<target>, <name>), as a crafted checkpoint would."""

    def __init__(self, target, name):
        self.target, self.name = target, name

    def __reduce__(self):
        return getattr, (self.target, self.name)


def _roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf)  # torch's default: weights_only=True


def test_env_override_is_not_used():
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


def test_message_hub_state_roundtrips_weights_only():
    hub = MessageHub.get_instance('mmseg_ext_test_hub')
    for v in (3.0, 2.0, 1.5):
        hub.update_scalar('train/loss', v)
    hub.update_info('eta', np.float64(12.5))
    state = _roundtrip({
        'message_hub': hub.state_dict(),
        'state_dict': {
            'w': torch.ones(2)
        }
    })
    buf = state['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.min() == 1.5 and buf.max() == 3.0
    assert buf.mean() == pytest.approx(6.5 / 3)
    assert state['message_hub']['runtime_info']['eta'] == 12.5


@pytest.mark.parametrize('target,name', [
    (HistoryBuffer, '__init__'),
    (HistoryBuffer, 'update'),
    (HistoryBuffer, '__class__'),
])
def test_other_getattr_targets_are_refused(target, name):
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        _roundtrip({'x': _GetattrPayload(target, name)})


def test_getattr_on_arbitrary_objects_is_refused():
    # ndarray itself is allow-listed, reaching its methods is not
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        _roundtrip({'x': _GetattrPayload(np.ndarray, 'tofile')})
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        history_buffer_getattr(np.ndarray, 'min')
