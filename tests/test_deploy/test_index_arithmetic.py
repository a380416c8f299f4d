"""The export's index arithmetic is exact on OpenVINO, whose float division
is a multiplication by the reciprocal (not correctly rounded).

Before :func:`~mmseg_ext.deploy.rewrites.float32_quotient` and
the non-negative ceiling of :func:`mmseg_ext.deploy.pooling.window_mask`,
PFNet's dynamic export on OpenVINO was 4.4e-2 off at 97x129: PointFlow's
fine-grid index came out a pixel off (``25 / 13`` an ulp high) and its
adaptive max-pool windows a cell too wide. A tiny graph of the same
functions, exported dynamic, must give eager PyTorch's integers at the sizes
where the index went wrong. The windows went wrong only inside the whole
PFNet graph (not in this one, nor in one PointFlowModule: the runtime fuses
integer division differently there), so ``test_export_families``'s
``pfnet_r18-dynamic`` case on OpenVINO at 97x129 holds them (3.5e-2 with
the old negative-floor ceiling, measured).
"""
import random

import numpy as np
import pytest
import torch
from conftest import needs_onnx_export

from mmseg_ext.deploy import pooling
from mmseg_ext.deploy.backends import INPUT_NAME, OUTPUT_NAME, BackendModel
from mmseg_ext.deploy.patches import export_patches
from mmseg_ext.deploy.rewrites import float32_quotient
from mmseg_ext.models.utils import point_flow_ops as pf

# (fine H, W, coarse h, w): PFNet's levels at 97x129 and 769x1025, and the
# example size of the export
SIZES = [(25, 33, 13, 17), (13, 17, 7, 9), (49, 65, 25, 33),
         (193, 257, 97, 129), (16, 32, 8, 16)]
BINS = 14


class _Indices(torch.nn.Module):
    """An (N, 3, H, W) input (what BackendModel feeds) -> the int64 indices
    the export computes from its size and its strided half's (the coarse
    map, rounded up as ResNet's strided convs give), with that half's
    adaptive max-pool argmax, as one float32 row (values < 2**24, exact)."""

    def forward(self, x):
        fine, coarse = x[:, :1], x[:, :1, ::2, ::2]
        h, w = coarse.shape[-2:]
        height, width = fine.shape[-2:]
        idx = torch.arange(h * w).view(1, -1)
        parts = [
            pf.coarse_to_fine_indices(idx, (h, w), (height, width)),
            pooling.window_mask(h, BINS, fine).flatten()[None].long(),
            pooling.window_mask(w, BINS, fine).flatten()[None].long(),
            pooling.adaptive_max_pool2d(coarse, BINS, True)[1].flatten(1),
        ]
        return torch.cat(parts, dim=1).to(torch.float)[:, None, None]


def test_float32_quotient_rounds_as_ieee_division():
    rng = random.Random(0)
    pairs = [(n, d) for n in range(1, 80) for d in range(1, n + 1)]
    pairs += [(rng.randrange(1, 4096), 0) for _ in range(3000)]
    pairs = [(n, d or rng.randrange(max(1, n // 2000), n + 1))
             for n, d in pairs]
    pairs += [(4095, 1), (2**12 * 7 - 1, 7), (25, 13), (13, 7)]
    like = torch.zeros(())
    got = torch.stack([float32_quotient(n, d, like) for n, d in pairs])
    num, den = (torch.tensor(v, dtype=torch.float) for v in zip(*pairs))
    assert torch.equal(got, num / den)


@pytest.fixture(scope='module')
def indices_onnx(tmp_path_factory):
    """The index graph exported dynamic (from a 16x32 example), once."""
    model = _Indices().eval()
    example = torch.zeros(1, 3, 16, 32)
    path = str(tmp_path_factory.mktemp('indices') / 'indices.onnx')
    auto = torch.export.Dim.AUTO
    with torch.no_grad(), export_patches():
        program = torch.export.export(
            model, (example, ),
            dynamic_shapes=({
                2: auto,
                3: auto
            }, ),
            strict=False)
        torch.onnx.export(
            program, (example, ),
            path,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=18,
            dynamo=True)
    return model, path


@needs_onnx_export
@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_index_arithmetic_exact_after_export(indices_onnx, backend):
    model, path = indices_onnx
    runner = BackendModel(path, backend, 'fp32')
    for height, width, h, w in SIZES:
        fine = torch.randn(1, 3, height, width)
        assert fine[:, :, ::2, ::2].shape[-2:] == (h, w)
        with torch.no_grad():
            ref = model(fine).numpy()
        out = runner(fine).numpy()
        bad = np.flatnonzero(out != ref)
        assert bad.size == 0, (backend, (height, width), bad[:8],
                               out.ravel()[bad[:8]], ref.ravel()[bad[:8]])
