"""The int8 / bf16 deployment benchmark on trained checkpoints.

For each model of :data:`MODELS` (checkpoints from
:mod:`tools.benchmarks.bench_models`), at its benchmark input size:

1. ``tools/deploy/deploy.py`` with the ONNX Runtime and the OpenVINO int8
   deploy configs (calibration on ``--calib-images`` real images of the
   model's val loader resized to the input size; the accuracy gate on
   ``--gate-images`` of them): two exports of the same checkpoint, each with
   its int8 model and its gate in ``deploy.json``;
2. one export folder holding both int8 models (the OpenVINO export plus the
   ONNX Runtime int8 graph; ``deploy.json``'s ``quantization`` of both), so
   that every row below comes from one ``fps_test`` run;
3. the bf16 gate of OpenVINO (:func:`mmseg_ext.deploy.quantize_gate.
   accuracy_gate` on the same images);
4. ``tools/fps_test.py --backend pytorch onnxruntime openvino openvino:bf16
   onnxruntime:int8 openvino:int8 --probe-peak``: batch 1, medians of
   ``--iters`` after ``--warmup``, the hardware header.

Writes ``OUT/<name>_<H>x<W>/{fps.json, fps.md, accuracy.json}`` and
``OUT/<name>_<H>x<W>.int8.json`` (both together: the docs' result kind,
rendered by :mod:`tools.docs.int8_page`). Run from the
repository root on an idle machine::

    python -m tools.benchmarks.bench_models          # the checkpoints
    python -m tools.benchmarks.int8_table [--models sfnet18 ...] \\
        [--out work_dirs/int8_table]

A model whose ``fps.json`` exists is not run again (delete its folder).
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

from tools.benchmarks import bench_models
from tools.main_job import camvid, pfnet
from tools.main_job.options import load_config, size, transform_option

DEPLOY = 'configs/deploy/segmentation_{}-int8_static-512x1024.py'
BACKENDS = ('onnxruntime', 'openvino')
ROWS = ('pytorch', 'onnxruntime', 'openvino', 'openvino:bf16',
        'onnxruntime:int8', 'openvino:int8')


def resize_options(config: str, height: int, width: int,
                   keep_ratio: bool) -> list:
    """``--cfg-options`` making the val loader's ``Resize`` give
    ``height`` x ``width`` (mmseg's scale is (W, H))."""
    cfg = load_config(config)
    pipe = 'val_dataloader.dataset.pipeline'
    return [
        transform_option(cfg, pipe, 'Resize', 'scale', size(width, height)),
        transform_option(cfg, pipe, 'Resize', 'keep_ratio', keep_ratio)
    ]


def camvid_data(config, height, width, out, data_root):
    root = camvid.camvid_root(data_root)
    return (camvid.data_options(root) +
            resize_options(config, height, width, False),
            osp.join(root, 'val', camvid.PICTURE_FRAMES[0]))


def isaid_data(config, height, width, out, data_root):
    root = osp.join(out, 'data', 'iSAID')
    return ([f'val_dataloader.dataset.data_root={root}'] +
            resize_options(config, height, width, False),
            osp.join(root, 'img_dir', 'val', 'P0004.png'))


#: name -> (model config, input sizes (H, W), real-data options)
MODELS = dict(
    sfnet18=(camvid.CONFIG, [(512, 1024), (360, 480)], camvid_data),
    sfnet50=(bench_models.SFNET50_CONFIG, [(512, 1024)], camvid_data),
    pfnet50=(pfnet.R50, [(896, 896)], isaid_data),
    isdnet=(bench_models.ISDNET_CONFIG, [(2448, 2448)], camvid_data),
)

#: calibration images at most, per model: ONNX Runtime's calibrator keeps
#: the outputs of every node for every calibration image, and 16 ISDNet
#: images at 2448x2448 needed more than this machine's 24 GB (OOM-killed)
CALIB_CAP = dict(isdnet=4)


def run(cmd: list) -> None:
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def deploy_config(folder: str, backend: str, calib: int, gate: int) -> str:
    """A deploy config for ``backend`` int8 with this run's image counts."""
    path = osp.join(folder, f'deploy_{backend}_int8.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['{osp.abspath(DEPLOY.format(backend))}']\n"
                f'calib_config = dict(num_images={calib})\n'
                f'accuracy_gate = dict(num_images={gate})\n')
    return path


def combine(folder: str) -> str:
    """``folder/export``: the OpenVINO export with the ONNX Runtime int8
    graph beside it and both ``quantization`` entries in ``deploy.json``."""
    both = osp.join(folder, 'export')
    shutil.rmtree(both, ignore_errors=True)
    shutil.copytree(osp.join(folder, 'export_openvino'), both)
    ort = osp.join(folder, 'export_onnxruntime')
    for name in os.listdir(ort):
        if name.startswith('end2end.int8'):
            shutil.copy2(osp.join(ort, name), both)
    with open(osp.join(ort, 'deploy.json')) as f:
        extra = json.load(f)['quantization']
    with open(osp.join(both, 'deploy.json')) as f:
        info = json.load(f)
    info['quantization'].update(extra)
    with open(osp.join(both, 'deploy.json'), 'w') as f:
        json.dump(info, f, indent=2)
    return both


def bf16_gate(config, options, checkpoint, xml, images) -> dict:
    """OpenVINO bf16 against fp32 PyTorch on the gate's images."""
    from mmengine.config import DictAction

    from mmseg_ext.apis import build_model
    from mmseg_ext.apis import load_config as load
    from mmseg_ext.deploy.quantize_gate import accuracy_gate
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg = load(config, parser.parse_args(['--o', *options]).o)
    model = build_model(cfg, checkpoint).eval()
    return accuracy_gate(
        cfg, model, xml, 'openvino', 'bf16', num_images=images, max_drop=0.5)


def bench(name, config, shape, data, args) -> None:
    height, width = shape
    folder = osp.join(args.out, f'{name}_{height}x{width}')
    if osp.exists(osp.join(folder, 'fps.json')):
        print(f'{folder}/fps.json exists, skipped', flush=True)
        return
    os.makedirs(folder, exist_ok=True)
    ckpt = bench_models.checkpoint(args.bench_dir, name)
    options, sample = data(config, height, width, args.bench_dir,
                           args.data_root)
    py = sys.executable
    accuracy = {}
    for backend in BACKENDS:
        export = osp.join(folder, f'export_{backend}')
        shutil.rmtree(export, ignore_errors=True)
        run([
            py, 'tools/deploy/deploy.py',
            deploy_config(
                folder, backend,
                min(args.calib_images, CALIB_CAP.get(name, args.calib_images)),
                args.gate_images), config, ckpt, sample, '--work-dir', export,
            '--shape',
            str(height),
            str(width), '--allow-accuracy-drop', '--cfg-options', *options
        ])
        with open(osp.join(export, 'deploy.json')) as f:
            quant = json.load(f)['quantization'][backend]
        accuracy[f'{backend}:int8'] = quant['gate']
    both = combine(folder)
    accuracy['openvino:bf16'] = bf16_gate(config, options, ckpt,
                                          osp.join(both, 'end2end.xml'),
                                          args.gate_images)
    with open(osp.join(folder, 'accuracy.json'), 'w') as f:
        json.dump(
            dict(checkpoint=ckpt, options=options, gates=accuracy),
            f,
            indent=2)
    cmd = [
        py, 'tools/fps_test.py', config, '--height',
        str(height), '--width',
        str(width), '--device', 'cpu', '--backend', *ROWS, '--backend-model',
        both, '--probe-peak', '--warmup',
        str(args.warmup), '--iters',
        str(args.iters), '--out',
        osp.join(folder, 'fps.partial.json')
    ]
    print('+', ' '.join(cmd), flush=True)
    table = subprocess.run(
        cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(table, flush=True)
    with open(osp.join(folder, 'fps.md'), 'w') as f:
        f.write(table)
    os.replace(
        osp.join(folder, 'fps.partial.json'), osp.join(folder, 'fps.json'))
    write_result(folder, name, shape, args)


def write_result(folder: str, name: str, shape, args) -> str:
    """``OUT/<name>_<H>x<W>.int8.json``: the fps_test JSON with the
    accuracy gates added (``accuracy``) and this command as its ``meta``
    command (the docs' ``*.int8.json`` kind)."""
    with open(osp.join(folder, 'fps.json')) as f:
        data = json.load(f)
    with open(osp.join(folder, 'accuracy.json')) as f:
        data['accuracy'] = json.load(f)
    data['accuracy']['trained'] = bench_models.TRAINED[name]
    data['meta']['fps_command'] = data['meta']['command']
    data['meta']['command'] = (
        'python -m tools.benchmarks.bench_models && python -m '
        f'tools.benchmarks.int8_table --models {name} --sizes '
        f'{shape[0]}x{shape[1]} --calib-images {args.calib_images} '
        f'--gate-images {args.gate_images}')
    path = osp.join(
        osp.dirname(folder), f'{name}_{shape[0]}x{shape[1]}.int8.json')
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', choices=sorted(MODELS))
    parser.add_argument('--out', default=osp.join('work_dirs', 'int8_table'))
    parser.add_argument(
        '--bench-dir',
        default=osp.join('work_dirs', 'bench'),
        help='tools.benchmarks.bench_models --out')
    parser.add_argument('--data-root', default='data')
    parser.add_argument(
        '--sizes',
        nargs='+',
        help='only these HxW of the models, e.g. 512x1024')
    parser.add_argument('--calib-images', type=int, default=16)
    parser.add_argument('--gate-images', type=int, default=24)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iters', type=int, default=5)
    args = parser.parse_args(argv)
    for name in args.models or list(MODELS):
        config, shapes, data = MODELS[name]
        for shape in shapes:
            if args.sizes and f'{shape[0]}x{shape[1]}' not in args.sizes:
                continue
            bench(name, config, shape, data, args)


if __name__ == '__main__':
    main()
