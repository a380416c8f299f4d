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
    for bad, message in (
        ('--backend openvino:int8', 'expected NAME[:PRECISION]'),
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
