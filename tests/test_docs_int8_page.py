"""``*.int8.json`` results (``tools/benchmarks/int8_table.py``) in the docs:
speed-ups against eager fp32 and against the fastest fp32 export, and each
reduced precision's accuracy gate, under the run's hardware header."""
import copy

import pytest
from test_docs_render import META, ROWS, render_dir, write_json

from tools.docs.results import ResultError


def gate(precision, value, agreement, passed=True):
    return {
        'metric': 'mIoU',
        'fp32': 45.0,
        precision: value,
        'max_drop': 1.0,
        'passed': passed,
        'split': 'val',
        'num_images': 24,
        'argmax_agreement': agreement
    }


def int8_rows():
    rows = copy.deepcopy(ROWS)  # eager fp32 1020 ms, onnxruntime fp32 500
    for backend, dtype, median in (('openvino', 'fp32', 400.0),
                                   ('openvino', 'int8', 100.0)):
        row = dict(rows[1], backend=backend, dtype=dtype)
        row['latency_median_ms'] = median
        rows.append(row)
    return rows


def write_int8(folder, gates=None, **changes):
    data = dict(
        args=dict(warmup=1, iters=5, device='cpu'),
        rows=int8_rows(),
        accuracy=dict(
            checkpoint='work_dirs/x/iter_800.pth',
            trained='CamVid train, 800 iterations',
            gates=gates if gates is not None else
            {'openvino:int8': gate('int8', 44.5, 0.9912)}))
    data.update(changes)
    meta = dict(META, fps_command='python tools/fps_test.py a.py')
    return write_json(folder / 'm_64x128.int8.json', data, meta)


def test_int8_result_gives_speedups_and_its_gate(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    write_int8(results)
    text = (render_dir(tmp_path, results) / 'int8.md').read_text()
    assert 'Test CPU 9000' in text and 'avx512f' in text
    assert 'trained on CamVid train, 800 iterations' in text
    line = next(x for x in text.splitlines()
                if x.startswith('| openvino:int8'))
    cells = [c.strip() for c in line.strip('|').split('|')]
    # 1020 / 100 vs eager; the fastest fp32 export is openvino's 400 ms
    assert cells[1:4] == ['100.0', '10.20x', '4.00x']
    assert cells[4:9] == ['99.12 %', '45.00', '44.50', '0.50', 'passed (1.0)']
    eager = next(x for x in text.splitlines()
                 if x.startswith('| pytorch:fp32'))
    assert [c.strip()
            for c in eager.strip('|').split('|')][2:4] == ['1.00x', '-']
    # the full fps_test table follows, with what the rows ran
    assert "the checkpoint's in the exports" in text


def test_int8_result_without_a_gate_key_names_it(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    broken = gate('int8', 44.5, 0.99)
    del broken['argmax_agreement']
    write_int8(results, gates={'openvino:int8': broken})
    with pytest.raises(
            ResultError,
            match=r"m_64x128\.int8\.json.*"
            r"argmax_agreement.*openvino:int8"):
        render_dir(tmp_path, results)
