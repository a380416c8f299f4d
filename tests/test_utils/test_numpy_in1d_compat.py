import numpy as np
import pytest

from mmseg_ext.evaluation import numpy_in1d_compat


@pytest.mark.skipif(hasattr(np, 'in1d'), reason='this numpy still has in1d')
def test_in1d_only_inside_the_block_and_equal_to_isin():
    a = np.array([[1, 5, 7], [0, 5, 2]])
    with pytest.warns(RuntimeWarning, match='no np.in1d'):
        with numpy_in1d_compat() as installed:
            assert installed
            got = np.in1d(a, [5, 7])
            inv = np.in1d(a, [5, 7], invert=True)
    np.testing.assert_array_equal(got, [False, True, True, False, True, False])
    np.testing.assert_array_equal(inv, ~got)
    assert got.ndim == 1
    assert not hasattr(np, 'in1d')


def test_numpy_with_in1d_is_left_alone(monkeypatch):
    sentinel = object()
    monkeypatch.setattr(np, 'in1d', sentinel, raising=False)
    with numpy_in1d_compat() as installed:
        assert not installed and np.in1d is sentinel
    assert np.in1d is sentinel
