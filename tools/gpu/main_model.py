"""A trained checkpoint on real frames: half-precision accuracy and the
exported program's speed.

Given a config and checkpoint (the main job's CamVid model; ``pack_wheels.sh
--checkpoint`` stores its weights in fp16 to fit the 64 MiB carry, and the
fp32 reference then uses those weights, widened), :func:`main_model_check`

- runs the first ``frames`` CamVid ``val`` frames (whole 360x480 frames,
  padded by the model's data preprocessor) through the model in eager fp32
  (TF32 off) and under fp16 and bf16 autocast, and reports the fraction of
  pixels whose argmax class agrees with fp32 (the issue's accuracy
  figure, target >= 99.5 %);
- exports the tensor-mode network with ``torch.export.export`` on the
  device and times ``torch.compile`` of the exported program
  (``ExportedProgram.module()``) under the faster precision, against the
  eager fp32 reference, with :func:`tools.gpu.infer.time_row`.
"""
import argparse
import glob
import os.path as osp

import cv2
import torch

from mmseg_ext.apis import build_model
from mmseg_ext.benchmark.measure import TensorForward
from mmseg_ext.utils.atomic_io import atomic_file
from .infer import compare, strict_fp32, time_row


def half_checkpoint(src: str, dst: str) -> int:
    """Write ``src``'s state dict with floating tensors in fp16 to ``dst``
    (``{'state_dict', 'meta': {'dataset_meta', 'half_of'}}``, atomically);
    return the bytes written. Optimizer state and the message hub are
    dropped: only the weights travel.

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        ValueError: If ``src`` holds no state dict of tensors.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src}')
    ckpt = torch.load(src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not state or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f'{src} holds no state dict of tensors')
    half = {
        k: v.half() if v.is_floating_point() else v
        for k, v in state.items()
    }
    meta = dict(
        dataset_meta=ckpt.get('meta', {}).get('dataset_meta'), half_of=src)
    with atomic_file(dst) as f:
        torch.save(dict(state_dict=half, meta=meta), f)
    return osp.getsize(dst)


def load_frames(camvid: str, frames: int, model) -> torch.Tensor:
    """The first ``frames`` ``<camvid>/val/*.png`` (sorted) as the model's
    data preprocessor makes them: (N, 3, H, W) float on the model's device.

    Raises:
        FileNotFoundError: If ``<camvid>/val`` holds no PNG frame.
    """
    paths = sorted(glob.glob(osp.join(camvid, 'val', '*.png')))[:frames]
    if not paths:
        raise FileNotFoundError(f'no CamVid val frames in {camvid}/val')
    images = [
        torch.from_numpy(cv2.imread(p, cv2.IMREAD_COLOR)).permute(2, 0, 1)
        for p in paths
    ]
    batch = model.data_preprocessor(dict(inputs=images), False)
    return batch['inputs']


def main_model_check(rec, deadline, settings: dict) -> None:
    """Under ``steps["main_model"]``. ``settings``: ``device``,
    ``main_config``, ``main_checkpoint``, ``camvid``, ``frames``,
    ``warmup``, ``iters``, ``compile_modes``, ``compile_reserve_s``."""
    if not settings.get('main_checkpoint'):
        rec.set('main_model', 'skipped', 'no --main-checkpoint given')
        return
    if not deadline.allows(settings['compile_reserve_s']):
        rec.set('main_model', 'skipped', 'deadline')
        return
    device = torch.device(settings['device'])
    with rec.guard('main_model', 'accuracy'):
        model = build_model(settings['main_config'],
                            settings['main_checkpoint'], settings['device'])
        model.float()
        x = load_frames(settings['camvid'], settings['frames'], model)
        net = TensorForward(model).eval()
        with torch.inference_mode():
            with strict_fp32(device):
                ref = net(x).float()
            agreement = {}
            for name, dtype in (('fp16', torch.float16), ('bf16',
                                                          torch.bfloat16)):
                with torch.autocast(device.type, dtype=dtype):
                    agreement[name] = compare(net(x).float(), ref)
        rec.set(
            'main_model', 'accuracy',
            dict(
                config=settings['main_config'],
                checkpoint=settings['main_checkpoint'],
                frames=int(x.shape[0]),
                input=f'{x.shape[2]}x{x.shape[3]}',
                against='eager fp32, TF32 off',
                **agreement))
        rec.log(f'main_model agreement: {agreement}')
    with rec.guard('main_model', 'export+compile'):
        one = x[:1].contiguous()
        ref1 = ref[:1]
        exported = torch.export.export(net, (one, ))
        program = exported.module()
        for mode in settings['compile_modes']:
            if not deadline.allows(settings['compile_reserve_s']):
                rec.append('main_model', 'skipped', f'compile {mode}')
                continue
            compiled = torch.compile(program, mode=mode)
            for name in ('fp32', 'bf16'):
                row = time_row(f'main_model {mode} {name}',
                               lambda: compiled(one), name, device,
                               settings['warmup'], settings['iters'])
                row.update(compare(row.pop('output'), ref1))
                row.update(path=f'export+compile-{mode}', precision=name)
                rec.append('main_model', 'rows', row)
            torch._dynamo.reset()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(
        prog='python -m tools.gpu.main_model',
        description='store a checkpoint\'s weights in fp16 for the carry '
        'folder (tools/gpu/pack_wheels.sh --checkpoint)')
    parser.add_argument(
        '--half', nargs=2, metavar=('SRC', 'DST'), required=True)
    args = parser.parse_args()
    size = half_checkpoint(*args.half)
    print(f'{args.half[1]}: {size / 2**20:.1f} MiB')
