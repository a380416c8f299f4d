"""Let mmengine's ``pytorch`` launcher run on CPU-only machines (gloo).

mmengine 0.10.7's ``_init_dist_pytorch`` (``mmengine/dist/utils.py``) calls
``torch.cuda.set_device(local_rank)`` unconditionally, so ``mim train ...
--launcher pytorch`` dies on a machine without CUDA before any training
starts (``torch._C`` has no ``_cuda_setDevice`` on CPU builds). On such a
machine only, :func:`enable_cpu_pytorch_launcher` swaps that function for one
that skips the CUDA call and initialises the process group with gloo
(``nccl``, mmseg's default ``env_cfg.dist_cfg.backend``, needs CUDA), with a
warning saying so. With CUDA available nothing is changed.
"""
import warnings

import torch
import torch.distributed as torch_dist


def _init_dist_pytorch_cpu(backend: str = 'gloo',
                           init_backend: str = 'torch',
                           **kwargs) -> None:
    if init_backend != 'torch':
        raise ValueError(
            f'init_backend={init_backend!r} is not supported without CUDA')
    if backend != 'gloo':
        warnings.warn(
            f'no CUDA: torch.distributed backend {backend!r} replaced by '
            '\'gloo\' (set env_cfg.dist_cfg.backend=gloo to silence this)',
            RuntimeWarning)
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, **kwargs)


def enable_cpu_pytorch_launcher() -> bool:
    """Install the CPU variant of mmengine's pytorch-launcher init if needed.

    Returns:
        bool: True if mmengine's function was replaced (no CUDA available).
    """
    if torch.cuda.is_available():
        return False
    from mmengine.dist import utils as dist_utils
    if dist_utils._init_dist_pytorch is not _init_dist_pytorch_cpu:
        dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu
    return True
