"""The export forms of our model code (:mod:`mmseg_ext.deploy.rewrites`).

:func:`~mmseg_ext.deploy.patches.export_patches` (the context of
``export_onnx``) swaps them in and restores the eager functions after, also
on an error; inside it an eager call still computes the eager bits and
``torch.export`` traces the export forms; ``mmseg_ext/models`` itself holds
no export branch.
"""
import functools
import importlib
import os.path as osp
import re
from pathlib import Path

import pytest
import torch
from conftest import needs_onnx_export
from torch import nn

from mmseg_ext.deploy import rewrites
from mmseg_ext.deploy.patches import export_patches
from mmseg_ext.models.utils import (coarse_to_fine_indices, flow_warp,
                                    laplacian_pyramid, topk_grid_points)

MODELS = Path(
    osp.dirname(importlib.import_module('mmseg_ext.models').__file__))


def _current():
    """``{(module, name): the module's attribute now}`` for every rewrite."""
    return {
        (module, name): getattr(importlib.import_module(module), name)
        for module, name in rewrites.REWRITES
    }


class _Probe(nn.Module):
    """Every rewritten function on one (N, 3, H, W) input."""

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        idx, coords = topk_grid_points(x[:, :1], 40)
        fine = coarse_to_fine_indices(idx, (h, w), (2 * h, 2 * w))
        warped = flow_warp(x, x[:, :2], (h, w))
        residual = laplacian_pyramid(x, 1)[0]
        return idx, coords, fine, warped, residual


def test_rewrites_name_model_functions():
    eager = _current()
    modules = {module for module, _ in eager}
    assert modules == {
        f'mmseg_ext.models.utils.{name}'
        for name in ('point_flow_ops', 'flow_warp', 'laplacian_pyramid')
    }
    for (module, name), function in eager.items():
        # the module's own eager function, not an export form left behind
        assert function.__module__ == module and function.__name__ == name
        assert function is not rewrites.REWRITES[(module, name)]


def test_export_context_swaps_in_and_restores():
    eager = _current()
    with export_patches():
        for key, function in _current().items():
            assert function is not eager[key], key
            assert function.__wrapped__ is eager[key]
            assert function.export_form is rewrites.REWRITES[key]
    assert all(v is eager[k] for k, v in _current().items())
    with pytest.raises(RuntimeError, match='inside'):
        with export_patches():
            raise RuntimeError('inside')
    assert all(v is eager[k] for k, v in _current().items())


def _counting(calls, key, form):

    @functools.wraps(form)
    def counted(*args, **kwargs):
        calls[key] += 1
        return form(*args, **kwargs)

    return counted


@pytest.fixture
def calls(monkeypatch):
    """Counts of each export form's calls (registry entries wrapped)."""
    counts = dict.fromkeys(rewrites.REWRITES, 0)
    for key, form in list(rewrites.REWRITES.items()):
        monkeypatch.setitem(rewrites.REWRITES, key,
                            _counting(counts, key, form))
    return counts


def test_eager_call_in_context_keeps_eager_bits(calls):
    x = torch.randn(2, 3, 13, 19, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = _Probe()(x)
        with export_patches():
            got = _Probe()(x)
    assert set(calls.values()) == {0}
    for a, b in zip(got, ref):
        assert torch.equal(a, b)


@needs_onnx_export
def test_export_traces_the_export_forms(calls):
    """All forms traced, and the graph stays dynamic: at another size
    (odd, where the Laplacian level is resized) it gives eager's indices
    and, up to ``grid_axis``' rounding, eager's values."""
    auto = torch.export.Dim.AUTO
    with torch.no_grad(), export_patches():
        program = torch.export.export(
            _Probe(), (torch.randn(2, 3, 16, 32), ),
            dynamic_shapes=({
                0: auto,
                2: auto,
                3: auto
            }, ),
            strict=False)
    assert all(calls.values()), calls
    x = torch.randn(1, 3, 13, 19, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = program.module()(x)
        ref = _Probe()(x)
    for i, (a, b) in enumerate(zip(got, ref)):
        assert a.shape == b.shape, i
        if i < 3:  # indices, centres, fine indices: bit for bit
            assert torch.equal(a, b), i
        else:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_model_code_holds_no_export_branch():
    export_words = re.compile(r'is_exporting|torch\.compiler|torch\.export|'
                              r'sym_min|sym_max|symbolic')
    deploy_import = re.compile(r'^\s*(from|import)\s+\S*deploy', re.M)
    files = sorted(MODELS.rglob('*.py'))
    assert len(files) > 20
    for path in files:
        text = path.read_text()
        assert not export_words.search(text), (path, export_words.search(text))
        assert not deploy_import.search(text), path
