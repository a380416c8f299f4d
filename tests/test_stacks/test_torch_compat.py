"""The torch-version gates of :mod:`mmseg_ext.deploy.exporting`.

``torch.compiler.is_exporting`` exists from torch 2.6; our ``is_exporting``
answers on every torch (the export forms of :mod:`mmseg_ext.deploy.rewrites`
ask it; SFNet's flow warp and ISDNet's Laplacian pyramid run their eager
code on every torch), and ``export_onnx`` refuses torch < 2.6 with the
missing features named, writing nothing.
"""
import re

import pytest
import torch
from torch import nn

from mmseg_ext.deploy.export import export_onnx
from mmseg_ext.deploy.exporting import (TORCH_VERSION, is_exporting,
                                        onnx_export_unsupported)
from mmseg_ext.models.utils import flow_warp, laplacian_pyramid


def test_eager_code_is_not_exporting():
    assert is_exporting() is False
    # the eager branches run on this torch (torch < 2.6 has no flag at all)
    feature = torch.arange(24.).view(1, 2, 3, 4)
    out = flow_warp(feature, torch.zeros(1, 2, 5, 7), (5, 7))
    ref = nn.functional.interpolate(
        feature, (5, 7), mode='bilinear', align_corners=True)
    torch.testing.assert_close(out, ref)
    assert [
        r.shape[2:] for r in laplacian_pyramid(torch.rand(1, 3, 9, 11), 2)
    ] == [(9, 11), (5, 6)]


@pytest.mark.skipif(
    TORCH_VERSION < (2, 6),
    reason=f'torch {torch.__version__} has no torch.compiler.is_exporting')
def test_is_exporting_under_torch_export():
    seen = []

    class Probe(nn.Module):

        def forward(self, x):
            seen.append(is_exporting())
            return x + 1

    torch.export.export(Probe(), (torch.zeros(2), ), strict=False)
    assert seen and all(seen)  # traced (once or more), always exporting
    assert onnx_export_unsupported() is None


@pytest.mark.skipif(
    TORCH_VERSION >= (2, 6),
    reason=f'torch {torch.__version__} runs the ONNX export')
def test_old_torch_export_refused_and_nothing_written(tmp_path):
    work = tmp_path / 'export'
    with pytest.raises(
            RuntimeError,
            match=r'ONNX export needs torch >= 2\.6 .*torch\.compiler\.'
            r'is_exporting\); this is torch ' + re.escape(torch.__version__)):
        export_onnx(None, None, str(work), (64, 64), dynamic=True)
    assert not work.exists()
    assert list(tmp_path.iterdir()) == []
