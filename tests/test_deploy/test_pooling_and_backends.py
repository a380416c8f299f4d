"""Exporter-safe adaptive pooling equals PyTorch's; BackendModel's errors
and a tiny exported graph on ONNX Runtime and OpenVINO (no segmentor)."""
import inspect
import sys

import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.deploy import pooling
from mmseg_ext.deploy.backends import BackendModel
from mmseg_ext.deploy.patches import export_patches

# Non-divisible sizes (PPM bins 3 and 6 on 16x32, 97x129), an output larger
# than the input (PointFlow's 14 on a 4x5 map) and a 1x1 map.
SIZES = [(16, 32), (97, 129), (4, 5), (1, 1), (13, 29)]
BINS = [1, 2, 3, 6, 9, 14, (3, 5)]


@pytest.mark.parametrize('size', SIZES)
def test_pooling_matches_pytorch(size):
    torch.manual_seed(0)
    x = torch.randn(2, 3, *size) * 5
    ties = torch.zeros(1, 1, *size)
    for bins in BINS:
        avg = pooling.adaptive_avg_pool2d(x, bins)
        assert torch.allclose(
            avg, F.adaptive_avg_pool2d(x, bins), atol=2e-6, rtol=0)
        for t in (x, ties):
            # Values and indices exact, ties to the first in row-major order.
            ours = pooling.adaptive_max_pool2d(t, bins, return_indices=True)
            ref = F.adaptive_max_pool2d(t, bins, return_indices=True)
            assert torch.equal(ours[0], ref[0]) and torch.equal(
                ours[1], ref[1]), (size, bins)


def test_export_patches_scoped():
    avg, mx = F.adaptive_avg_pool2d, F.adaptive_max_pool2d
    with pytest.raises(KeyError):
        with export_patches():
            assert F.adaptive_avg_pool2d is pooling.adaptive_avg_pool2d
            raise KeyError('restored even on error')
    assert F.adaptive_avg_pool2d is avg and F.adaptive_max_pool2d is mx


@pytest.fixture(scope='module')
def tiny_onnx(tmp_path_factory):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.AdaptiveAvgPool2d(3))
    path = str(tmp_path_factory.mktemp('tiny') / 'tiny.onnx')
    # The legacy exporter: fast, and this pooling divides 9x12 exactly. A
    # torch without the ``dynamo`` argument (2.1) has only that exporter.
    legacy = ({
        'dynamo': False
    } if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {})
    torch.onnx.export(
        model, (torch.randn(1, 3, 9, 12), ),
        path,
        input_names=['input'],
        output_names=['output'],
        opset_version=17,
        **legacy)
    return model.eval(), path


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_backend_runs_fp32(tiny_onnx, backend):
    model, path = tiny_onnx
    x = torch.randn(1, 3, 9, 12)
    out = BackendModel(path, backend, num_threads=1)(x)
    assert out.dtype == torch.float32 and out.shape == (1, 4, 3, 3)
    assert (out - model(x)).abs().max().item() <= 1e-5


@pytest.mark.parametrize('args,match', [
    (('tensorrt', 'fp16', 'cpu'), "backend='tensorrt'.*CUDA GPU"),
    (('onnxruntime', 'bf16', 'cpu'), "backend='onnxruntime', precision="
     "'bf16'"),
    (('openvino', 'fp32', 'cuda'), 'OpenVINO does not run on CUDA'),
    (('tflite', 'fp32', 'cpu'), 'backend must be one of'),
    (('openvino', 'int4', 'cpu'), 'precision must be one of'),
])
def test_unsupported_combination(tiny_onnx, args, match):
    with pytest.raises(ValueError, match=match):
        BackendModel(tiny_onnx[1], *args)


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.onnx'):
        BackendModel(str(tmp_path / 'nope.onnx'), 'onnxruntime')


def test_missing_runtime_names_package(tiny_onnx, monkeypatch):
    monkeypatch.setitem(sys.modules, 'openvino', None)
    with pytest.raises(ImportError, match='requirements-deploy.txt'):
        BackendModel(tiny_onnx[1], 'openvino')


def test_bad_input_shape(tiny_onnx):
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        BackendModel(tiny_onnx[1], 'onnxruntime')(torch.randn(3, 9, 12))
