"""int8 accuracy gates on the CamVid model (issue 22 items 1-3).

The CamVid SFNet-R18 (``camvid_model`` fixture: a checkpoint trained briefly
on CamVid) is exported statically at 128x160 and quantized by the deploy
command with the ONNX Runtime int8 config (calibration: 4 val frames through
the config's pipeline), then for OpenVINO through NNCF; each int8 model must
score within 1.0 mIoU of fp32 PyTorch, and OpenVINO bf16 within 0.5, on a
fixed subset of CamVid val (:data:`VAL_FRAMES`: 8 frames spread over the
101 of the val sequence, resized to the export size; the metric compares
at the original 480x360). The test entry
(``mim test mmseg_ext ... --backend openvino --precision int8``) scores the
quantized export like an fp32 one: the same mIoU as the gate. Bad input: an
export without an int8 model for the backend, and under another model config.
"""
import json
import os
import os.path as osp
import shutil

import pytest
import torch
from conftest import REPO, needs_onnx_export

from mmseg_ext.apis import build_model
from mmseg_ext.apis.builder import load_config
from mmseg_ext.deploy import cli
from mmseg_ext.deploy.backends import BackendModel
from mmseg_ext.deploy.quantize import calibration_inputs
from mmseg_ext.deploy.quantize_gate import accuracy_gate, quantize_and_gate
from mmseg_ext.tools import test as test_entry
from tools.main_job.outputs import read_test_metrics

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')
pytest.importorskip('nncf')
pytestmark = [
    pytest.mark.usefixtures('repo_root_one_thread'), needs_onnx_export
]

SIZE = (128, 160)  # (h, w) of the static export
#: Every 13th of the 101 val frames (8 frames): spread over the sequence,
#: not the first ones in a row, so few frames still show varied scenes.
VAL_FRAMES = list(range(0, 101, 13))
N_VAL = len(VAL_FRAMES)
N_CALIB = 4
GATE_KEYS = {'metric', 'fp32', 'int8', 'max_drop', 'passed', 'cpu', 'isa'}
ORT_INT8 = osp.join(REPO, 'configs', 'deploy',
                    'segmentation_onnxruntime-int8_static-512x1024.py')


def _camvid_root(data_root):
    sub = osp.join(data_root, 'camvid')
    return sub if osp.isdir(sub) else data_root


def _options(root, loader='val_dataloader'):
    """``--cfg-options`` strings: :data:`VAL_FRAMES` of ``root``, resized
    to the export size."""
    return [
        f'{loader}.dataset.data_root={root}',
        f"{loader}.dataset.indices=[{','.join(map(str, VAL_FRAMES))}]",
        f'{loader}.dataset.pipeline.1.scale=({SIZE[1]},{SIZE[0]})',
        f'{loader}.dataset.pipeline.1.keep_ratio=False'
    ]


def _as_dict(items):
    parser = test_entry.argparse.ArgumentParser()
    test_entry.add_cfg_options(parser)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


@pytest.fixture(scope='module')
def exported(camvid_model, tmp_path_factory):
    """The deploy command's ONNX Runtime int8 export, then its OpenVINO
    quantization: (work dir, deploy.json, OpenVINO entry, config, model)."""
    tmp = tmp_path_factory.mktemp('int8_gate')
    deploy_cfg = tmp / 'ort_int8.py'
    deploy_cfg.write_text(f'_base_ = [{ORT_INT8!r}]\n'
                          f'calib_config = dict(num_images={N_CALIB})\n')
    root = _camvid_root(camvid_model['data_root'])
    config = camvid_model['config']
    image = sorted(os.listdir(osp.join(root, 'val')))[0]
    work = str(tmp / 'export')
    info = cli.main([
        str(deploy_cfg), config, camvid_model['checkpoint'],
        osp.join(root, 'val', image), '--work-dir', work, '--shape',
        *map(str, SIZE), '--cfg-options', *_options(root)
    ])
    cfg = load_config(config, _as_dict(_options(root)))
    model = build_model(cfg, camvid_model['checkpoint'])
    inputs = calibration_inputs(cfg, 'val', N_CALIB, SIZE)
    sample = torch.from_numpy(inputs[0])
    calib, gate = cli.int8_settings(cli.load_deploy_config(str(deploy_cfg)))
    entry = quantize_and_gate(work, 'openvino', inputs, calib, gate, cfg,
                              model, sample)
    return work, info, entry, cfg, model, root


def _report(name, gate):
    print(f"{name}: mIoU fp32 {gate['fp32']:.2f}, {name} "
          f"{gate.get('int8', gate.get('bf16')):.2f}, argmax agreement "
          f"{gate['argmax_agreement']:.4f} ({gate['num_images']} frames, "
          f"{gate['cpu']}, {' '.join(gate['isa'])})")


def test_onnxruntime_int8_gate_through_deploy_command(exported):
    work, info, _, _, _, _ = exported
    with open(osp.join(work, 'deploy.json')) as f:
        assert json.load(f) == info
    assert info['precision'] == 'int8'
    entry = info['quantization']['onnxruntime']
    assert entry['model'] == 'end2end.int8.onnx'
    assert osp.isfile(osp.join(work, 'end2end.int8.onnx'))
    assert entry['calibration']['num_images'] == N_CALIB
    gate = entry['gate']
    assert GATE_KEYS <= set(gate), gate
    _report('onnxruntime int8', gate)
    assert gate['num_images'] == N_VAL
    assert 0 < gate['fp32'] <= 100
    assert gate['passed'] and gate['fp32'] - gate['int8'] <= 1.0, gate
    # int8 decides some pixels differently: the gate compares two models
    assert 0.9 < gate['argmax_agreement'] < 1.0, gate
    # the fp32 export stayed exact; the int8 one is really quantized ...
    assert info['max_abs_diff_vs_pytorch'] <= 1e-4
    assert entry['max_abs_diff_vs_pytorch'] > 1e-4
    import onnx
    graph = onnx.load(osp.join(work, 'end2end.int8.onnx')).graph
    producer = {o: n for n in graph.node for o in n.output}
    assert sum(n.op_type == 'QuantizeLinear' for n in graph.node) > 20
    # ... except SFNet's flow warps: three GridSamples with float grids
    grids = [n for n in graph.node if n.op_type == 'GridSample']
    assert len(grids) == 3
    for node in grids:
        assert producer[node.input[1]].op_type != 'DequantizeLinear', node
    nodes = entry['calibration']['float_only']['grid_coordinates']['nodes']
    assert {g.name for g in grids} <= set(nodes)


def test_openvino_int8_gate(exported):
    work, _, entry, _, _, _ = exported
    assert entry['model'] == 'end2end.int8.xml'
    gate = entry['gate']
    _report('openvino int8', gate)
    assert gate['passed'] and gate['fp32'] - gate['int8'] <= 1.0, gate
    import openvino as ov
    ops = ov.Core().read_model(osp.join(work, 'end2end.int8.xml'))
    types = [op.get_type_name() for op in ops.get_ordered_ops()]
    assert types.count('FakeQuantize') > 20


def test_openvino_bf16_gate(exported):
    work, _, _, cfg, model, _ = exported
    import openvino as ov
    if 'BF16' not in ov.Core().get_property('CPU',
                                            'OPTIMIZATION_CAPABILITIES'):
        pytest.skip('this CPU has no bf16 (AVX512-BF16 / AMX)')
    gate = accuracy_gate(
        cfg,
        model,
        osp.join(work, 'end2end.onnx'),
        'openvino',
        'bf16',
        max_drop=0.5)
    _report('openvino bf16', gate)
    assert gate['passed'] and gate['fp32'] - gate['bf16'] <= 0.5, gate


def test_test_entry_scores_int8_like_the_gate(exported, tmp_path):
    work, info, entry, _, _, root = exported
    for backend, gate in (('openvino', entry['gate']),
                          ('onnxruntime',
                           info['quantization']['onnxruntime']['gate'])):
        out = tmp_path / backend
        test_entry.main([
            exported[3].filename, work, '--backend', backend, '--precision',
            'int8', '--work-dir',
            str(out), '--cfg-options', *_options(root, 'test_dataloader')
        ])
        miou = read_test_metrics(str(out))['mIoU']
        assert miou == pytest.approx(gate['int8'], abs=0.01), backend


def test_int8_refused_where_the_export_has_none(exported, tmp_path):
    work = exported[0]
    bare = tmp_path / 'fp32_only'
    bare.mkdir()
    for name in os.listdir(work):
        if '.int8.' not in name:
            shutil.copy(osp.join(work, name), bare / name)
    with pytest.raises(FileNotFoundError, match='end2end.int8.onnx'):
        BackendModel(str(bare / 'end2end.onnx'), 'onnxruntime', 'int8')
    # the test entry: OpenVINO int8 of an export quantized for ORT only
    os.remove(osp.join(str(bare), 'deploy.json'))
    shutil.copy(osp.join(work, 'deploy.json'), bare / 'deploy.json')
    with pytest.raises(FileNotFoundError, match='end2end.int8.xml'):
        test_entry.main([
            exported[3].filename,
            str(bare), '--backend', 'openvino', '--precision', 'int8',
            '--work-dir',
            str(tmp_path / 'w'), '--cfg-options',
            *_options(exported[5], 'test_dataloader')
        ])
    # a quantized file run as fp32
    with pytest.raises(ValueError, match="precision='int8'"):
        BackendModel(osp.join(work, 'end2end.int8.onnx'), 'onnxruntime')


def test_int8_export_under_another_config_refused(exported, tmp_path):
    other = osp.join(REPO, 'configs', 'sfnet',
                     'sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py')
    with pytest.raises(ValueError, match='sfnet_r18-d32_4xb2-50k_cityscapes'):
        test_entry.main([
            other, exported[0], '--backend', 'onnxruntime', '--precision',
            'int8', '--work-dir',
            str(tmp_path / 'w')
        ])


def test_failed_gate_exits_non_zero_unless_allowed(exported, monkeypatch):
    info = json.loads(json.dumps(exported[1]))
    gate = info['quantization']['onnxruntime']['gate']
    gate.update(int8=gate['fp32'] - 3.0, passed=False)
    monkeypatch.setattr(cli, 'deploy', lambda *args, **kwargs: info)
    argv = [ORT_INT8, 'model.py', 'none', 'x.png', '--work-dir', 'w']
    with pytest.raises(
            SystemExit,
            match='int8 accuracy gate failed '
            r'\(onnxruntime: mIoU .* more than 1.0 below'):
        cli.main(argv)
    assert cli.main(argv + ['--allow-accuracy-drop']) is info
