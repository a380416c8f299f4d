"""What the golden fixture builders share: one thread, an atomic save."""
from contextlib import contextmanager

import torch

from mmseg_ext.utils.atomic_io import atomic_file


@contextmanager
def one_torch_thread():
    """Run the block with one torch intra-op thread, then restore the count.

    Float32 reductions (matmul, conv) round differently with another thread
    count, so the builders and the parity tests (``one_thread`` fixture) both
    use one thread: a fixture then matches bit for bit on any machine.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def save_fixture(fixture: dict, out_path: str) -> None:
    """``torch.save`` ``fixture`` to ``out_path`` through ``atomic_file``."""
    with atomic_file(out_path) as f:
        torch.save(fixture, f)
