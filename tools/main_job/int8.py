"""int8 of the main job's model: the CamVid SFNet-R18 checkpoint quantized.

Runs after the ``camvid`` stage, on its ``train/iter_800.pth``, for each
backend of :data:`DEPLOY_CFGS` (OpenVINO through NNCF, ONNX Runtime through
``quantize_static``):

1. ``python tools/deploy/deploy.py configs/deploy/segmentation_<backend>-
   int8_static-512x1024.py <camvid config> <checkpoint> <a val frame>
   --shape 360 480``: the fp32 export, its int8 model (calibration images
   from the config's val loader, as mmdeploy's ``create_calib``) and the
   accuracy gate (int8 mIoU vs fp32 PyTorch on all 101 val frames) in
   ``deploy.json``; the command fails when the gate does;
2. ``mim test mmseg_ext <camvid config> --checkpoint <export> --backend
   <backend> --precision int8``: mIoU on the 101 val frames;
3. ``tools/fps_test.py --backend pytorch <backend> <backend>:int8
   [openvino:bf16] --backend-model <export>`` at 360x480.
"""
import json
import os.path as osp
import sys

from .camvid import CONFIG, PICTURE_FRAMES, camvid_root, checkpoint_path
from .camvid import data_options as camvid_options
from .outputs import read_test_metrics
from .stage import Stage, mim_test
from .stage import run as run_command

DEPLOY_CFGS = {
    'openvino':
    'configs/deploy/segmentation_openvino-int8_static-512x1024.py',
    'onnxruntime':
    'configs/deploy/segmentation_onnxruntime-int8_static-512x1024.py',
}
SHAPE = (360, 480)
DEPLOY_TOOL = osp.join('tools', 'deploy', 'deploy.py')
FPS_TEST = osp.join('tools', 'fps_test.py')


def run_int8(repo: str, data_root: str, work: str) -> dict:
    """Quantize, score and time the camvid checkpoint (module doc).

    Returns:
        dict: per backend ``gate`` (``deploy.json``'s), ``mIoU_int8`` (the
        ``mim test`` run) and ``fps_table``; ``mIoU_pytorch``.

    Raises:
        FileNotFoundError: If the camvid checkpoint is missing.
    """
    root = camvid_root(data_root)
    camvid = osp.join(osp.dirname(work), 'camvid')
    ckpt = checkpoint_path(camvid)
    if not osp.isfile(ckpt):
        raise FileNotFoundError(
            f'{ckpt} not found: the int8 stage quantizes the checkpoint of '
            'the camvid stage; run `--jobs camvid,int8`')
    opts = camvid_options(root)
    sample = osp.join(root, 'val', PICTURE_FRAMES[0])
    result = dict(
        mIoU_pytorch=read_test_metrics(osp.join(camvid, 'test'))['mIoU'])
    for backend, deploy_cfg in DEPLOY_CFGS.items():
        export = osp.join(work, f'export_{backend}')
        seconds = run_command([
            sys.executable, DEPLOY_TOOL, deploy_cfg, CONFIG, ckpt, sample,
            '--work-dir', export, '--shape',
            str(SHAPE[0]),
            str(SHAPE[1]), '--cfg-options', *opts
        ], repo)
        with open(osp.join(export, 'deploy.json')) as f:
            info = json.load(f)
        test_dir = osp.join(work, f'test_{backend}_int8')
        mim_test(CONFIG, export, test_dir, opts, repo, '--backend', backend,
                 '--precision', 'int8')
        rows = ['pytorch', backend, f'{backend}:int8']
        if backend == 'openvino':
            rows.append('openvino:bf16')
        out = osp.join(work, f'fps_{backend}.md')
        run_command([
            sys.executable, FPS_TEST, CONFIG, '--backend', *rows,
            '--backend-model', export, '--height',
            str(SHAPE[0]), '--width',
            str(SHAPE[1]), '--device', 'cpu', '--warmup', '1', '--iters', '5',
            '--out', out
        ], repo)
        with open(out) as f:
            table = f.read()
        result[backend] = dict(
            deploy_seconds=round(seconds, 1),
            gate=info.get('quantization', {}).get(backend, {}).get('gate'),
            mIoU_int8=read_test_metrics(test_dir)['mIoU'],
            fps_table=table)
    return result


def build(repo: str, data_root: str, work: str) -> Stage:
    """The int8 stage: one step after no training run."""

    def step() -> dict:
        return dict(int8=run_int8(repo, data_root, work))

    return Stage({}, after=[step])


def figures(result: dict) -> dict:
    """Per backend: int8 mIoU, its gate and the FPS table."""
    int8 = result['int8']
    values = dict(mIoU_pytorch=int8['mIoU_pytorch'])
    for backend in DEPLOY_CFGS:
        entry = int8[backend]
        values[f'mIoU_{backend}_int8'] = entry['mIoU_int8']
        values[f'mIoU_delta_{backend}_int8'] = round(
            entry['mIoU_int8'] - int8['mIoU_pytorch'], 2)
        values[f'gate_{backend}'] = entry['gate']
        values[f'deploy_seconds_{backend}'] = entry['deploy_seconds']
        values[f'fps_{backend}_table'] = entry['fps_table']
    return values
