"""``tools/fps_test.py --backend``: eager PyTorch, ONNX Runtime and OpenVINO
rows of several configs in one table, each with its speed-up over the eager
fp32 row of the same run (tiny inputs, one timed run; no speed asserted)."""
import os

import pytest
from conftest import needs_onnx_export

from mmseg_ext.benchmark import cli, suite

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
# the same network under a second name: a second config of the table
R18_TEST = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py'
H, W = 64, 128

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def _cells(table):
    return [[c.strip() for c in line.strip('|').split('|')]
            for line in table.splitlines() if line.startswith('| sfnet')]


@needs_onnx_export
def test_backends_in_one_table(tmp_path, capsys):
    rows = cli.main(f'{R18} {R18_TEST} --height {H} --width {W} --device cpu '
                    '--warmup 0 --iters 1 --backend pytorch onnxruntime '
                    f'openvino --work-dir {tmp_path}'.split())
    cells = _cells(capsys.readouterr().out)
    assert len(cells) == len(rows) == 6  # 2 configs x 3 backends, 1 table
    assert [(c[0][-4:], c[5], c[6], c[3]) for c in cells
            ] == [(name, backend, 'fp32', mode) for name in ('1024', 'test')
                  for backend, mode in (('pytorch', 'tensor'), ('onnxruntime',
                                                                'end2end'),
                                        ('openvino', 'end2end'))]
    for ref, others, cells_ in ((rows[0], rows[1:3], cells[1:3]),
                                (rows[3], rows[4:6], cells[4:6])):
        assert ref['speedup'] == 1.0
        for row, cell in zip(others, cells_):  # vs its own config's eager
            assert row['speedup'] == pytest.approx(ref['latency_median_ms'] /
                                                   row['latency_median_ms'])
            assert cell[13] == f'{row["speedup"]:.2f}'
            # the same network: the PyTorch model's size and GFLOPs
            assert (row['params'], row['gflops']) == (ref['params'],
                                                      ref['gflops'])
    # the on-the-fly export is kept under --work-dir/<config name>
    export = tmp_path / 'sfnet_r18-d32_4xb2-50k_cityscapes-512x1024'
    assert 'end2end.onnx' in os.listdir(export)

    # --backend-model reuses that export: nothing is exported again
    def no_export(*args, **kwargs):
        raise AssertionError('exported again')

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(suite, 'export_random_model', no_export)
        again = cli.main(f'{R18} --height {H} --width {W} --device cpu '
                         '--warmup 0 --iters 1 --backend openvino:fp32 '
                         f'--backend-model {export}'.split())
    assert [(r['backend'], r['dtype'])
            for r in again] == [('pytorch', 'fp32'), ('openvino', 'fp32')]


def test_backend_arguments(capsys):
    args = cli.parse_args(f'{R18} --height 8 --width 8 --bf16 --backend '
                          'pytorch openvino onnxruntime:fp32'.split())
    assert args.specs == [
        suite.RowSpec('pytorch', 'bf16'),
        suite.RowSpec('openvino', 'bf16'),
        suite.RowSpec('onnxruntime', 'fp32')
    ]
    args = cli.parse_args(f'{R18} --height 8 --width 8 --precision auto '
                          '--backend pytorch openvino:fp32'.split())
    assert args.specs == [
        suite.RowSpec('pytorch', 'auto'),
        suite.RowSpec('openvino', 'fp32')
    ]
    assert args.probe_peak  # auto ranks precisions by the ceilings
    for bad, message in (
        ('--backend openvino:int4', 'expected NAME[:PRECISION]'),
        ('--backend openvino:int8', 'give its folder as --backend-model'),
        ('--backend pytorch:int8 --backend-model configs',
         'on onnxruntime or openvino (e.g. openvino:int8), not on pytorch'),
        ('--backend tensorrt:auto', 'give tensorrt its precision'),
        ('--precision auto --bf16', 'not allowed with argument'),
        ('--backend openvino --backend-model nowhere', 'not found: nowhere'),
        ('--backend pytorch:fp16 --device cpu', 'only supported on CUDA'),
    ):
        with pytest.raises(SystemExit):
            cli.parse_args(f'{R18} --height 8 --width 8 {bad}'.split())
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_args(f'{R18} {R18_TEST} --height 8 --width 8 '
                       f'--backend-model {R18}'.split())
    assert 'give one config, not 2' in capsys.readouterr().err
    with pytest.raises(ValueError, match='ONNX Runtime runs the'):
        suite.benchmark_backend('end2end.onnx',
                                suite.RowSpec('onnxruntime', 'bf16'),
                                dict(config='x'), H, W, 1, 'cpu', 0, 1)


def test_keep_going_reports_a_failed_export(monkeypatch, capsys):

    def broken_export(*args, **kwargs):
        raise RuntimeError('aten.adaptive_max_pool2d')

    monkeypatch.setattr(suite, 'export_random_model', broken_export)
    with pytest.raises(RuntimeError, match='adaptive_max_pool2d'):
        cli.main(f'{R18} --height 32 --width 32 --device cpu --warmup 0 '
                 '--iters 1 --backend onnxruntime'.split())
    rows = cli.main(f'{R18} --height 32 --width 32 --device cpu --warmup 0 '
                    '--iters 1 --backend onnxruntime --keep-going'.split())
    assert [r['backend'] for r in rows] == ['pytorch', 'onnxruntime']
    assert rows[1]['error'] == 'aten.adaptive_max_pool2d'
    (cells, ) = [
        c for c in _cells(capsys.readouterr().out) if c[5] != 'pytorch'
    ]
    assert cells[7] == 'failed: RuntimeError'
    assert cells[10:14] == ['n/a'] * 4  # latencies, FPS, speed-up


def _tiny_int8_export(folder, height, width):
    """An export folder as deploy.py would leave it, around a one-conv
    network (3 -> 4 channels, (1, 3, H, W)): ``end2end.onnx``, its
    ``quantize_static`` QDQ form ``end2end.int8.onnx``, that as OpenVINO IR
    ``end2end.int8.xml`` and a ``deploy.json`` whose ONNX Runtime int8 gate
    passed (on this CPU's flags) and whose OpenVINO one failed."""
    import json

    import numpy as np
    import onnx
    import openvino as ov
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                          quantize_static)

    from mmseg_ext.benchmark.hardware import read_cpu
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node('Conv', ['input', 'w'], ['output'], pads=[1] * 4)],
        'tiny', [
            helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                          [1, 3, height, width])
        ], [
            helper.make_tensor_value_info('output', TensorProto.FLOAT,
                                          [1, 4, height, width])
        ], [
            numpy_helper.from_array(
                rng.standard_normal((4, 3, 3, 3)).astype(np.float32), 'w')
        ])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.save(model, folder / 'end2end.onnx')

    class Reader(CalibrationDataReader):

        def __init__(self):
            self.data = iter([{
                'input':
                rng.standard_normal((1, 3, height, width)).astype(np.float32)
            }])

        def get_next(self):
            return next(self.data, None)

    quantize_static(
        str(folder / 'end2end.onnx'),
        str(folder / 'end2end.int8.onnx'),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True)
    ov.save_model(
        ov.convert_model(str(folder / 'end2end.int8.onnx')),
        str(folder / 'end2end.int8.xml'))
    isa = read_cpu()[1]
    (folder / 'deploy.json').write_text(
        json.dumps(
            dict(
                backend='onnxruntime',
                precision='fp32',
                quantization=dict(
                    onnxruntime=dict(gate=dict(passed=True, isa=isa)),
                    openvino=dict(
                        gate=dict(passed=False, fp32=44.3, int8=40.1))))))


def test_int8_rows_and_precision_auto(tmp_path, monkeypatch, capsys):
    """``onnxruntime:int8`` / ``openvino:int8`` run the export folder's
    quantized graph through ``BackendModel(..., 'int8')``; ``:auto`` takes
    int8 where its gate passed and it has the highest ceiling, fp32 where
    the int8 gate failed and bf16 has none; each row's fraction uses its
    own precision's ceiling."""
    import json

    from mmseg_ext import deploy
    _tiny_int8_export(tmp_path, 32, 64)
    ceilings = dict(  # the real probe is test_fps_hardware's
        probe='3x3 conv',
        gflops=dict(fp32=100.0, bf16=150.0, int8=400.0),
        runtimes=dict(
            fp32=dict(torch=90.0, onnxruntime=100.0, openvino=95.0),
            bf16=dict(torch=150.0, openvino=140.0),
            int8=dict(onnxruntime=300.0, openvino=400.0)),
        skipped={})
    monkeypatch.setattr(cli, 'probe_ceilings', lambda device: ceilings)
    opened = []
    original = deploy.BackendModel

    def spy(model_file, backend, precision, *args, **kwargs):
        opened.append((os.path.basename(model_file), backend, precision))
        return original(model_file, backend, precision, *args, **kwargs)

    monkeypatch.setattr(deploy, 'BackendModel', spy)
    out = tmp_path / 'fps.json'
    rows = cli.main(f'{R18} --height 32 --width 64 --device cpu --warmup 0 '
                    '--iters 1 --backend onnxruntime:auto openvino:auto '
                    f'openvino:int8 --backend-model {tmp_path} '
                    f'--out {out}'.split())
    assert [(r['backend'], r['dtype'], r['options']) for r in rows] == [
        ('pytorch', 'fp32', '-'),
        ('onnxruntime', 'int8', 'precision auto, gate passed'),
        ('openvino', 'fp32', 'precision auto'),
        ('openvino', 'int8', 'gate failed'),
    ]
    assert opened == [('end2end.int8.onnx', 'onnxruntime', 'int8'),
                      ('end2end.onnx', 'openvino', 'fp32'),
                      ('end2end.int8.xml', 'openvino', 'int8')]
    for row in rows:
        assert row['ceiling_gflops'] == ceilings['gflops'][row['dtype']]
        assert row['ceiling_fraction'] == pytest.approx(
            row['gflops'] / (row['latency_median_ms'] / 1e3) /
            row['ceiling_gflops'])
    meta = json.loads(out.read_text())['meta']
    choices = meta['precision_choices']
    assert choices['openvino']['candidates'] == {
        'fp32': '95.0 GFLOP/s conv ceiling',
        'bf16': 'refused: no accuracy gate for it in deploy.json',
        'int8': 'refused: its accuracy gate failed (fp32 44.3, int8 40.1)'
    }
    assert choices['onnxruntime']['why'] == (
        '300.0 GFLOP/s conv ceiling on onnxruntime, accuracy gate passed; '
        f'fp32: 100.0 GFLOP/s conv ceiling; gates from {tmp_path}/deploy.json')
    printed = capsys.readouterr().out
    assert (f'- Precision auto, onnxruntime: int8 '
            f'({choices["onnxruntime"]["why"]})') in printed
    # an export folder without the quantized graph: named, with the fix
    (tmp_path / 'end2end.int8.xml').unlink()
    with pytest.raises(
            FileNotFoundError,
            match='end2end.int8.xml.*tools/deploy/deploy.py'):
        suite.backend_file(str(tmp_path), suite.RowSpec('openvino', 'int8'))
    assert suite.backend_file(
        str(tmp_path / 'end2end.int8.onnx'),
        suite.RowSpec('openvino', 'int8')).endswith(
            'end2end.int8.onnx')  # a file: as given
