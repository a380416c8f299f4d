"""Every model family exports to ONNX, static and dynamic, and its fp32
logits on ONNX Runtime and OpenVINO match eager PyTorch (max abs diff
<= 1e-4).

The real configs with random weights; where a family's own code is the
same at any depth, the backbone runs at depth 18 (ResNeXt: 50, its smallest;
HRNet: a reduced HRNetV2 layout, widths 16/32/64/128) with the heads' input
channels adjusted.
Each family is exported once static (checked at 64x128) and once dynamic
(checked at 64x128 and at 97x129, not a multiple of 32); see ``CASES`` for
the exports run by default.
"""
import os

import pytest
import torch
from conftest import needs_onnx_export

from mmseg_ext.apis import build_model
from mmseg_ext.deploy.backends import BackendModel
from mmseg_ext.deploy.export import End2End, export_onnx

pytestmark = [pytest.mark.usefixtures('one_thread'), needs_onnx_export]

SIZE = (64, 128)
ODD_SIZE = (97, 129)
ATOL = 1e-4
BACKENDS = ('onnxruntime', 'openvino')
_R18 = {'model.backbone.depth': 18}
_R18_D8 = {
    **_R18, 'model.decode_head.in_channels': 512,
    'model.auxiliary_head.in_channels': 256
}
_R18_FPN = {**_R18, 'model.neck.in_channels': [64, 128, 256, 512]}
_X50 = {'model.backbone.depth': 50}
# A reduced HRNetV2 (narrower and shallower than mmseg's W18-small, which
# has widths 18/36/72/144 and 1/3/2 modules in stages 2-4): the same
# multi-branch modules and fuse layers as W48, at a fraction of the export
# cost.
_HR18S = {
    'model.backbone.extra':
    dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1, ),
            num_channels=(32, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block='BASIC',
            num_blocks=(2, 2),
            num_channels=(16, 32)),
        stage3=dict(
            num_modules=1,
            num_branches=3,
            block='BASIC',
            num_blocks=(2, 2, 2),
            num_channels=(16, 32, 64)),
        stage4=dict(
            num_modules=1,
            num_branches=4,
            block='BASIC',
            num_blocks=(2, 2, 2, 2),
            num_channels=(16, 32, 64, 128))),
    'model.decode_head.in_channels': [16, 32, 64, 128],
}
_PSP = 'configs/pspnet/pspnet_{}_4xb2-{}_cityscapes-769x769.py'
_ASPP = 'configs/deeplabv3/deeplabv3_{}_4xb2-{}_cityscapes-769x769.py'
FAMILIES = {
    'sfnet_r18':
    ('configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py', {}),
    'sfnet_r18_dsn':
    ('configs/sfnet/sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py', {}),
    'pfnet_r18': ('configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py',
                  _R18_FPN),
    'isdnet_r18':
    ('configs/isdnet/isdnet_r18-d8_4xb2-80k_cityscapes-512x1024.py', {}),
    'pointrend_r18':
    ('configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py',
     _R18_FPN),
    'glore_r18': ('configs/glore/glore_r50-d8_4xb2-80k_cityscapes-512x1024.py',
                  _R18_D8),
    'ginet_r18': ('configs/ginet/ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
                  {
                      **_R18, 'model.neck.in_channels': (128, 256, 512),
                      'model.auxiliary_head.in_channels': 256
                  }),
    'pspnet_r18': (_PSP.format('r101-d8-mg124', '30k'), _R18_D8),
    'pspnet_x50': (_PSP.format('x101-d8-mg124', '30k'), _X50),
    'pspnet_hr18s': (_PSP.format('hr48', '90k'), _HR18S),
    'deeplabv3_r18': (_ASPP.format('r101-d8-mg124', '30k'), _R18_D8),
    'deeplabv3_x50': (_ASPP.format('x101-d8-mg124', '30k'), _X50),
    'deeplabv3_hr18s': (_ASPP.format('hr48', '90k'), _HR18S),
}
# (family, backend, size) -> why the fp32 logits differ by more than ATOL
# (measured, not understood yet); the test asserts that they still do (a
# strict xfail), so a fix shows up. Empty now: PFNet on OpenVINO at the odd
# size was 4.4e-2 off until the stride ratio of its fine-grid index came
# from an exactly rounded quotient while exporting
# (deploy.rewrites.float32_quotient: OpenVINO's float division is not).
DEVIATES = {}
# The suite's time budget: by default every family exports dynamically
# (checked at the example size, as a static export is, and at the odd one),
# and the families whose own code depends on the input size -- SFNet's flow
# warp, PFNet's and PointRend's point grids, ISDNet's odd-size pyramid,
# HRNet's fuse-layer upsampling (with the PPM's adaptive pooling) and the
# ASPP's image pool -- statically too. SFNet-R18's dynamic export is the one
# of tests/test_deploy/test_deploy_cli.py (the same export through
# tools/deploy/deploy.py, checked on both runtimes at two sizes).
# MMSEG_EXT_DEPLOY_FAMILIES=all runs all 26 cases here.
STATIC_DEFAULT = ('sfnet_r18', 'pfnet_r18', 'isdnet_r18', 'pointrend_r18',
                  'pspnet_hr18s', 'deeplabv3_r18')
DYNAMIC_ELSEWHERE = ('sfnet_r18', )
if os.environ.get('MMSEG_EXT_DEPLOY_FAMILIES') == 'all':
    CASES = [(name, dynamic) for name in FAMILIES for dynamic in (False, True)]
else:
    CASES = [(name, False) for name in STATIC_DEFAULT] + [
        (name, True) for name in FAMILIES if name not in DYNAMIC_ELSEWHERE
    ]


@pytest.fixture(scope='session')
def exported(tmp_path_factory):
    """``get(name, dynamic) -> (model, onnx path)``, each exported once."""
    cache = {}

    def get(name, dynamic):
        key = (name, dynamic)
        if key not in cache:
            config, overrides = FAMILIES[name]
            torch.manual_seed(0)
            model = build_model(config, cfg_options=overrides)
            work_dir = tmp_path_factory.mktemp(f'{name}_{dynamic}')
            path = export_onnx(
                None, None, str(work_dir), SIZE, dynamic, model=model)
            cache[key] = model, path
        return cache[key]

    return get


@pytest.mark.parametrize(
    'name,dynamic',
    CASES,
    ids=[f'{n}-{"dynamic" if d else "static"}' for n, d in CASES])
def test_fp32_logits_match_pytorch(exported, name, dynamic):
    model, path = exported(name, dynamic)
    sizes = [SIZE, ODD_SIZE] if dynamic else [SIZE]
    torch.manual_seed(1)
    inputs = [torch.randn(1, 3, *size) for size in sizes]
    with torch.no_grad():
        refs = [End2End(model)(x) for x in inputs]
    for backend in BACKENDS:
        runner = BackendModel(path, backend, 'fp32', num_threads=1)
        for x, ref in zip(inputs, refs):
            out = runner(x)
            assert out.shape == ref.shape == (1, ref.shape[1], *x.shape[2:])
            diff = (out - ref).abs().max().item()
            size = tuple(x.shape[2:])
            print(f'{name} {"dynamic" if dynamic else "static"} {backend} '
                  f'{size}: max abs diff {diff:.2e}')
            if (name, backend, size) in DEVIATES:
                assert diff > ATOL, ('fixed? remove from DEVIATES', name,
                                     backend, size, diff)
            else:
                assert diff <= ATOL, (name, backend, size, diff)


def test_static_export_refuses_other_size(exported):
    _, path = exported('sfnet_r18', False)
    with pytest.raises(Exception, match='dimensions|shape'):
        BackendModel(path, 'onnxruntime')(torch.randn(1, 3, *ODD_SIZE))
