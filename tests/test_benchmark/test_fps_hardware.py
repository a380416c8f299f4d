"""What fps_test says about the machine: CPU and ISA parsing, the run's
``meta`` and table header, the conv ceilings (fp32 / bf16 / int8 through
the runtimes), each row's fraction of its precision's ceiling, and
``--precision auto``'s choice with every refusal (no model is built)."""
import datetime
import json

import pytest
import torch

from mmseg_ext.benchmark import hardware, peak, precision, suite
from mmseg_ext.benchmark.hardware import (describe_isa, format_header,
                                          parse_cpu_text, read_cpu, run_meta)
from mmseg_ext.benchmark.precision import choose_precision, read_gates

# lscpu (LC_ALL=C) of a Xeon with AMX, abridged
LSCPU_AMX = """Architecture:            x86_64
Model name:              Intel(R) Xeon(R) Platinum 8480+
Thread(s) per core:      2
Flags:                   fpu sse2 avx avx2 avx512f avx512_vnni avx512_bf16 \
amx_bf16 avx_vnni amx_tile amx_int8 avx512_fp16
"""
# /proc/cpuinfo of a 2-CPU Zen 4 (two processors, tabs), abridged
CPUINFO_ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu avx avx2 avx512f avx512bw avx512_bf16 avx512_vnni
processor\t: 1
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu avx avx2 avx512f avx512bw avx512_bf16 avx512_vnni
"""
# /proc/cpuinfo of an Arm server: no model name, no "flags" line
CPUINFO_ARM = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 bf16 i8mm
CPU implementer\t: 0x41
"""

pytestmark = pytest.mark.usefixtures('one_thread')

ZEN4 = ['avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16']
AMX = [
    'avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_bf16',
    'amx_int8', 'amx_tile'
]


def test_cpu_model_and_isa_flags_from_lscpu_and_cpuinfo(tmp_path):
    assert parse_cpu_text(LSCPU_AMX) == ('Intel(R) Xeon(R) Platinum 8480+',
                                         AMX)
    assert parse_cpu_text(CPUINFO_ZEN4) == ('AMD EPYC 9R14 96-Core Processor',
                                            ZEN4)
    assert parse_cpu_text(CPUINFO_ARM) == (None, [])
    assert describe_isa(ZEN4) == (
        'AVX2 AVX512F AVX512-VNNI AVX512-BF16 (no AVX-VNNI, AMX-BF16, '
        'AMX-INT8, AMX-TILE)')
    assert describe_isa([]) == ('none of the checked flags (no AVX2, '
                                'AVX512F, AVX512-VNNI, AVX-VNNI, '
                                'AVX512-BF16, AMX-BF16, AMX-INT8, AMX-TILE)')
    # no lscpu: /proc/cpuinfo; neither: the platform's name, no flags
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(CPUINFO_ZEN4)
    missing = str(tmp_path / 'no-lscpu')
    assert read_cpu(missing,
                    str(cpuinfo)) == ('AMD EPYC 9R14 96-Core Processor', ZEN4,
                                      str(cpuinfo))
    model, flags, source = read_cpu(missing, str(tmp_path / 'none'))
    assert (flags, source) == ([], 'platform') and model
    cpuinfo.write_text(CPUINFO_ARM)
    model, flags, _ = read_cpu(missing, str(cpuinfo))
    assert flags == [] and model not in (None, '')


CEILINGS = dict(
    probe='3x3 conv 256->256 on 128x256, batch 1, 1 multiply-add = 1 FLOP',
    gflops=dict(fp32=100.0, bf16=220.0, int8=400.0),
    runtimes=dict(
        fp32=dict(torch=90.0, onnxruntime=100.0, openvino=95.0),
        bf16=dict(torch=220.0, openvino=200.0),
        int8=dict(onnxruntime=300.0, openvino=400.0)),
    skipped={})


def test_run_meta_and_the_table_header(monkeypatch):
    monkeypatch.setattr(hardware, 'read_cpu', lambda:
                        ('AMD EPYC', ZEN4, 'lscpu'))
    choice = dict(precision='int8', why='400.0 GFLOP/s', candidates={})
    meta = run_meta(['a.py', '--height', '8', '--cfg-options', 'x=a b'],
                    CEILINGS, dict(openvino=choice))
    assert meta['command'] == ("python tools/fps_test.py a.py --height 8 "
                               "--cfg-options 'x=a b'")
    assert (meta['cpu_model'], meta['isa_flags']) == ('AMD EPYC', ZEN4)
    assert meta['torch_num_threads'] == torch.get_num_threads()
    assert meta['torch_version'] == meta['versions']['torch'] == \
        torch.__version__
    ort = pytest.importorskip('onnxruntime')
    assert meta['versions']['onnxruntime'] == ort.__version__
    date = datetime.datetime.strptime(meta['date'], '%Y-%m-%dT%H:%M:%SZ')
    assert abs(datetime.datetime.utcnow() - date).total_seconds() < 60
    assert json.loads(json.dumps(meta)) == meta  # the JSON's 'meta'
    lines = format_header(meta)
    assert lines[1] == (f'- CPU: AMD EPYC ({meta["cpu_count"]} CPUs, '
                        f'{torch.get_num_threads()} threads used; from lscpu)')
    assert lines[2] == f'- ISA: {describe_isa(ZEN4)}'
    assert lines[4] == (
        '- Conv ceilings: 3x3 conv 256->256 on 128x256, batch 1, 1 '
        'multiply-add = 1 FLOP: fp32 100.0 (best of torch 90.0, onnxruntime '
        '100.0, openvino 95.0), bf16 220.0 (best of torch 220.0, openvino '
        '200.0), int8 400.0 (best of onnxruntime 300.0, openvino 400.0) '
        'GFLOP/s')
    assert lines[5] == '- Precision auto, openvino: int8 (400.0 GFLOP/s)'
    assert lines[6].startswith('- Command: `python tools/fps_test.py a.py')
    assert '- Conv ceilings: not probed (--probe-peak)' in format_header(
        run_meta([]))
    assert run_meta([], date='2026-01-02T03:04:05Z')['date'] == \
        '2026-01-02T03:04:05Z'  # fps_test passes its start


def test_fraction_of_the_ceiling_of_the_rows_precision():
    ref = dict(latency_median_ms=100.0, gflops=2.0, batch=2, dtype='fp32')
    int8 = dict(latency_median_ms=25.0, gflops=2.0, batch=2, dtype='int8')
    bf16 = dict(latency_median_ms=50.0, gflops=2.0, batch=2, dtype='bf16')
    failed = dict(latency_median_ms=None, gflops=2.0, batch=2, dtype='int8')
    suite.add_speed_columns([ref, int8, bf16, failed], ref,
                            dict(fp32=100.0, int8=400.0))
    # 2 GFLOPs x 2 images / 0.1 s = 40 GFLOP/s of 100; / 0.025 s = 160 of 400
    assert ref['ceiling_fraction'] == pytest.approx(0.4)
    assert int8['ceiling_fraction'] == pytest.approx(0.4)
    assert (int8['speedup'], int8['ceiling_gflops']) == (4.0, 400.0)
    assert bf16['speedup'] == 2.0 and 'ceiling_fraction' not in bf16
    assert 'speedup' not in failed and 'ceiling_fraction' not in failed


def test_conv_ceilings_through_torch_and_the_runtimes(monkeypatch, tmp_path):
    pytest.importorskip('onnxruntime')
    pytest.importorskip('openvino')
    import numpy as np
    import onnx
    import onnxruntime as ort
    shape = (16, 8, 16)  # tiny: the code path, not the speed
    assert peak.probe_macs(shape) == 16 * 16 * 9 * 8 * 16
    # the int8 probe is the fp32 conv, quantized per channel in QDQ form
    fp32, int8 = str(tmp_path / 'c.onnx'), str(tmp_path / 'c.int8.onnx')
    x = peak.write_probe_onnx(fp32, shape)
    peak.quantize_probe(fp32, int8, x)
    graph = onnx.load(int8).graph
    assert [n.op_type for n in graph.node].count('Conv') == 1
    scales = {i.name: i for i in graph.initializer if 'scale' in i.name}
    assert any(list(s.dims) == [16] for s in scales.values())  # per-channel
    outs = [
        ort.InferenceSession(f, providers=['CPUExecutionProvider'
                                           ]).run(None, {'input': x})[0]
        for f in (fp32, int8)
    ]
    assert np.abs(outs[0] - outs[1]).max() < 0.05 * np.abs(outs[0]).max()
    result = peak.probe_ceilings(warmup=0, iters=1, shape=shape)
    assert result['probe'].startswith('3x3 conv 16->16 on 8x16')
    assert set(result['runtimes']['int8']) == {'onnxruntime', 'openvino'}
    assert set(
        result['runtimes']['fp32']) == {'torch', 'onnxruntime', 'openvino'}
    assert 'onnxruntime' not in result['runtimes']['bf16']  # no ORT bf16
    for name, runtimes in result['runtimes'].items():
        assert result['gflops'][name] == max(runtimes.values()) > 0
    with pytest.raises(ValueError, match='precisions must be out of'):
        peak.probe_ceilings(precisions=('int4', ))
    # without ONNX Runtime (which quantizes it) int8 is skipped, named
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name: None
        if name == 'onnxruntime' else find_spec(name))
    result = peak.probe_ceilings(warmup=0, iters=1, shape=shape)
    assert 'int8' not in result['gflops']
    assert 'onnxruntime' in result['skipped']['int8']
    assert set(result['runtimes']['fp32']) == {'torch', 'openvino'}


def test_gates_are_read_from_every_deploy_json_layout():
    passed, failed = dict(passed=True), dict(passed=False, int8=41.0)
    assert read_gates({
        'backend': 'openvino',
        'precision': 'fp32',
        'quantization': dict(gate=passed)
    }) == {
        ('openvino', 'int8'): passed
    }
    assert read_gates(
        dict(
            quantization=dict(
                onnxruntime=dict(gate=passed), openvino=dict(
                    gate=failed)))) == {
                        ('onnxruntime', 'int8'): passed,
                        ('openvino', 'int8'): failed
                    }
    assert read_gates(
        dict(
            quantization=dict(
                gates={
                    'openvino:int8': passed,
                    'openvino:bf16': failed,
                    'tensorrt:int8': passed,  # not a CPU backend
                }))) == {
                    ('openvino', 'int8'): passed,
                    ('openvino', 'bf16'): failed
                }
    assert read_gates(
        dict(backend='openvino', precision='bf16', accuracy_gate=passed)) == {
            ('openvino', 'bf16'): passed
        }
    assert read_gates(dict(backend='openvino', gate=passed)) == {}  # fp32?
    assert read_gates(  # fp32, the exported graph itself, is never gated
        dict(quantization=dict(openvino=dict(fp32=dict(gate=passed))))) == {}
    assert read_gates({}) == {}


def _gate(passed=True, **kwargs):
    return dict(passed=passed, metric='mIoU', fp32=44.3, **kwargs)


def test_auto_picks_the_fastest_precision_whose_gate_passed():
    gates = {
        ('openvino', 'int8'): _gate(int8=43.9, isa=AMX),
        ('openvino', 'bf16'): _gate(bf16=44.2),
        ('onnxruntime', 'int8'): _gate(False, int8=42.1, max_drop=1.0)
    }
    choice = choose_precision('openvino', gates, AMX, CEILINGS)
    assert choice.precision == 'int8'
    assert choice.why == ('400.0 GFLOP/s conv ceiling on openvino, accuracy '
                          'gate passed; fp32: 95.0 GFLOP/s conv ceiling; '
                          'bf16: 200.0 GFLOP/s conv ceiling')
    # the int8 gate was measured with AMX-INT8; this CPU has VNNI only
    choice = choose_precision('openvino', gates, ZEN4, CEILINGS)
    assert choice.precision == 'bf16'
    assert choice.candidates['int8'] == (
        'refused: its gate was measured with AVX512-VNNI AVX-VNNI AMX-INT8, '
        'this CPU has AVX512-VNNI')
    # a failed gate
    choice = choose_precision('onnxruntime', gates, AMX, CEILINGS)
    assert choice.precision == 'fp32'
    assert choice.candidates['int8'] == (
        'refused: its accuracy gate failed (fp32 44.3, int8 42.1, '
        'max_drop 1.0)')
    # bf16 where the ceilings say it is slower than fp32 (an AVX512-BF16
    # Xeon measured a bf16 conv at 0.72x fp32): fp32
    slow = json.loads(json.dumps(CEILINGS))
    slow['runtimes']['bf16']['openvino'] = 0.72 * 95.0
    no_int8 = {k: v for k, v in gates.items() if k[1] != 'int8'}
    assert choose_precision('openvino', no_int8, ZEN4,
                            slow).precision == 'fp32'
    assert choose_precision('openvino', no_int8, ZEN4,
                            CEILINGS).precision == 'bf16'


def test_auto_refusals():
    gates = {('openvino', 'bf16'): _gate(), ('openvino', 'int8'): _gate()}
    # no bf16 instructions: refused even with a passed gate
    choice = choose_precision('openvino', gates, ['avx2', 'avx512f'], CEILINGS,
                              dict(int8='no end2end.int8.xml'))
    assert choice.precision == 'fp32'
    assert choice.candidates == {
        'fp32': '95.0 GFLOP/s conv ceiling',
        'bf16': 'refused: this CPU has no AVX512-BF16 / AMX-BF16 (emulated, '
        'slower than fp32)',
        'int8': 'refused: no end2end.int8.xml'
    }
    # no deploy.json: nothing is gated, so fp32 only
    choice = choose_precision('pytorch', {}, AMX, CEILINGS)
    assert choice.precision == 'fp32'
    assert choice.candidates['bf16'] == ('refused: no accuracy gate for it '
                                         'in deploy.json')
    assert choice.why.startswith('90.0 GFLOP/s conv ceiling on torch; ')
    # a ceiling that was not probed
    skipped = dict(
        gflops=dict(fp32=1.0),
        runtimes=dict(fp32=dict(torch=1.0)),
        skipped=dict(int8='onnxruntime is not installed'))
    choice = choose_precision('onnxruntime', gates, AMX, skipped)
    assert choice.precision == 'fp32'
    assert choice.candidates['int8'] == (
        'refused: no accuracy gate for it in deploy.json')
    choice = choose_precision('onnxruntime',
                              {('onnxruntime', 'int8'): _gate()}, AMX, skipped)
    assert choice.candidates['int8'] == (
        'refused: no conv ceiling was probed: onnxruntime is not installed')
    with pytest.raises(ValueError, match='give tensorrt an explicit'):
        choose_precision('tensorrt', gates, AMX, CEILINGS)
    assert precision.refusal('onnxruntime', 'bf16', gates, AMX,
                             {}) == 'onnxruntime has no bf16 rows'
