"""int8 quantization of every other family, and its refusals (issue 22).

PFNet, ISDNet, PointRend and GINet (the real configs, ResNet-18 backbones,
random weights as in ``test_export_families``) are exported statically at
64x128, quantized for ONNX Runtime (QDQ) and OpenVINO (NNCF) on 2 real
CamVid train frames, run on 4 real CamVid val frames, and their per-pixel
argmax agreement with fp32 PyTorch is reported (``-s``). The float-only
rules of :mod:`mmseg_ext.deploy.quantize_scope` must find each family's
special layers. Bad input: no calibration image, a dataloader of another
size than the static export, TensorRT without a GPU, unknown settings.
"""
import os.path as osp

import pytest
import torch
from conftest import REPO, needs_onnx_export
from mmengine.config import Config

from mmseg_ext.apis import build_model
from mmseg_ext.apis.builder import load_config
from mmseg_ext.deploy import cli
from mmseg_ext.deploy.backends import BackendModel
from mmseg_ext.deploy.export import End2End, export_onnx
from mmseg_ext.deploy.quantize import calibration_inputs, quantize_export
from mmseg_ext.deploy.quantize_gate import int8_settings

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')
pytest.importorskip('nncf')
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')

SIZE = (64, 128)
_R18 = {'model.backbone.depth': 18}
_R18_FPN = {**_R18, 'model.neck.in_channels': [64, 128, 256, 512]}
#: family -> (config, overrides, float-only rules that must match nodes)
FAMILIES = {
    'pfnet_r18': ('configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py',
                  _R18_FPN, ('grid_coordinates', 'point_selection')),
    'isdnet_r18':
    ('configs/isdnet/isdnet_r18-d8_4xb2-80k_cityscapes-512x1024.py', {},
     ('image_pyramid', )),
    'pointrend_r18':
    ('configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py',
     _R18_FPN, ('grid_coordinates', 'point_selection')),
    'ginet_r18':
    ('configs/ginet/ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py', {
        **_R18, 'model.neck.in_channels': (128, 256, 512),
        'model.auxiliary_head.in_channels': 256
    }, ('logit_tail', )),
}
CAMVID_CFG = 'configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py'
ORT_INT8 = 'configs/deploy/segmentation_onnxruntime-int8_static-512x1024.py'


def _with_camvid(cfg: Config, camvid_root: str, size=SIZE) -> Config:
    """``cfg`` drawing train (calibration) and val frames from CamVid,
    resized to ``size`` (h, w)."""
    camvid = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', 'camvid.py'))
    for split, prefix in (('train', 'train'), ('val', 'val')):
        loader = camvid.val_dataloader.copy()
        loader.dataset = dict(
            loader.dataset,
            data_root=camvid_root,
            data_prefix=dict(img_path=prefix, seg_map_path=prefix + 'annot'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=size[::-1], keep_ratio=False),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')
            ])
        cfg[f'{split}_dataloader'] = loader
    return cfg


@needs_onnx_export
@pytest.mark.parametrize('name', list(FAMILIES))
def test_family_int8_runs_on_both_runtimes(name, tmp_path, camvid_root):
    config, overrides, rules = FAMILIES[name]
    cfg = _with_camvid(load_config(config, overrides), camvid_root)
    torch.manual_seed(0)
    model = build_model(cfg)
    work = str(tmp_path / name)
    export_onnx(None, None, work, SIZE, False, model=model)
    calib = calibration_inputs(cfg, 'train', 2, SIZE)
    frames = [torch.from_numpy(x) for x in calibration_inputs(cfg, 'val', 4)]
    with torch.no_grad():
        refs = torch.cat([End2End(model)(x) for x in frames])
    for backend in ('onnxruntime', 'openvino'):
        out, record = quantize_export(work, backend, calib,
                                      dict(split='train'))
        for rule in rules:
            assert record['float_only'][rule]['nodes'], (name, rule)
        runner = BackendModel(out, backend, 'int8', num_threads=1)
        got = torch.cat([runner(x) for x in frames])
        assert got.shape == refs.shape
        assert (got - refs).abs().max() > 1e-4  # really quantized
        agreement = (got.argmax(1) == refs.argmax(1)).float().mean().item()
        print(f'{name} {backend} int8: argmax agreement with fp32 '
              f'{agreement:.4f} on 4 CamVid val frames')
        assert agreement >= 0.5, (name, backend, agreement)


def test_no_calibration_image_is_refused(tmp_path, camvid_root):
    cfg = _with_camvid(load_config(CAMVID_CFG), camvid_root)
    with pytest.raises(ValueError, match='num_images >= 1, got 0'):
        calibration_inputs(cfg, 'val', 0, SIZE)
    # a split that selects no frame (an empty folder is refused by the
    # dataset itself, naming the folder)
    cfg.val_dataloader.dataset.indices = 0
    with pytest.raises(ValueError, match=f'0 images.*{camvid_root}'):
        calibration_inputs(cfg, 'val', 4, SIZE)
    with pytest.raises(ValueError, match='at least one image, got 0'):
        quantize_export(str(tmp_path), 'onnxruntime', [])
    deploy_cfg = Config(dict(calib_config=dict(num_images=0)))
    with pytest.raises(ValueError, match='calib_config.num_images'):
        int8_settings(deploy_cfg)
    with pytest.raises(ValueError, match=r"calib_config: unknown.*'nmu"):
        int8_settings(Config(dict(calib_config=dict(nmu_images=4))))


def test_dataloader_of_another_size_refused_before_export(
        tmp_path, camvid_root):
    image = osp.join(camvid_root, 'val', '0016E5_07959.png')
    work = tmp_path / 'export'
    # CamVid's val pipeline yields 480x360 frames; the export is 64x128
    with pytest.raises(
            ValueError,
            match='val_dataloader yields a 360x480 '
            'input but the static export takes 64x128'):
        cli.main([
            ORT_INT8, CAMVID_CFG, 'none', image, '--work-dir',
            str(work), '--shape', '64', '128', '--cfg-options',
            f'val_dataloader.dataset.data_root={camvid_root}'
        ])
    assert not work.exists() and not osp.exists(f'{work}.partial')


def test_tensorrt_int8_refused_without_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a CUDA GPU is visible')
    from mmseg_ext.deploy.quantize_tensorrt import calibrate_tensorrt
    with pytest.raises(ValueError, match='needs a CUDA GPU'):
        calibrate_tensorrt(str(tmp_path / 'end2end.onnx'), [], 'x.calib')
    onnx_file = tmp_path / 'end2end.onnx'
    onnx_file.write_bytes(b'')
    with pytest.raises(ValueError, match='TensorRT needs a CUDA GPU'):
        BackendModel(str(onnx_file), 'tensorrt', 'int8', 'cuda')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['end2end.onnx']
