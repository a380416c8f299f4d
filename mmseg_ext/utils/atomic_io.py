"""Write-then-rename: an output that carries its final name is complete.

Every file this package writes for a user (converted checkpoints, converted
dataset tiles, class-embedding tables, the Cityscapes submission folder) goes
through :func:`atomic_file` or :func:`atomic_dir`: the content is written under
a hidden temporary name in the destination's own folder (so the rename stays
on one file system and is atomic, ``os.replace``), and renamed only once it is
whole. A failure or an interrupt removes the temporary file and leaves any
previous ``dst`` untouched.

Durability: :func:`atomic_file` flushes the temporary file and calls
``fsync`` on it before the rename, and on the folder after it, so after a
power loss (not only a killed process) ``dst`` holds either the previous or
the new content, never an empty or partial file (a file system may commit
the rename before the data; Linux ``fsync(2)``: "Calling fsync() does not
necessarily ensure that the entry in the directory containing the file has
also reached disk").
"""
import os
import os.path as osp
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from typing import Collection, Iterator, List, Optional, Sequence

TEMP_SUFFIX = '.part'
# ``tempfile.mkstemp(prefix='.<name>.', suffix='.part')``: 8 random characters
_TEMP_RE = re.compile(r'\.(?P<name>.+)\.[a-z0-9_]{8}' + re.escape(TEMP_SUFFIX))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_name_for(dst: str) -> str:
    """The prefix of the temporary names used for ``dst`` (``.<name>.``).

    Re-runs can use it to recognise leftovers of an interrupted write:
    ``.<name>.<random>.part`` in ``dst``'s folder.
    """
    return f'.{osp.basename(dst)}.'


def remove_stale_temps(
    folder: str,
    names: Optional[Collection[str]] = None,
    suffixes: Sequence[str] = ()
) -> List[str]:
    """Remove the temporary files an interrupted (killed) write left.

    :func:`atomic_file` removes its temporary file on any exception, but not
    after SIGKILL or a power cut: ``.<name>.<8 random chars>.part`` stays in
    the destination folder. A converter calls this on each of its output
    folders when it starts; only regular files of exactly that form whose
    ``<name>`` is one of ``names`` or ends with one of ``suffixes`` go (never
    a folder, a link or any other file).

    Args:
        folder (str): An output folder (missing: nothing to do).
        names (Collection[str], optional): Final file names to clean for.
        suffixes (Sequence[str]): Final-name suffixes to clean for.

    Returns:
        list[str]: The removed paths, sorted.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    with os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMP_RE.fullmatch(entry.name)
            if match is None:
                continue
            name = match.group('name')
            if not ((names is not None and name in names)
                    or any(name.endswith(s) for s in suffixes if s)):
                continue
            if stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
                os.remove(entry.path)
                removed.append(entry.path)
    return sorted(removed)


def fsync_dir(folder: str) -> None:
    """``fsync`` a folder, so a rename or a new entry in it survives a
    power loss (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(dst: str, mode: str = 'wb', durable: bool = True) -> Iterator:
    """Open a temporary file next to ``dst``; rename it to ``dst`` on success.

    Usage::

        with atomic_file('out/model.pth') as f:
            torch.save(state, f)

    The folder of ``dst`` is created if missing. The file gets the usual
    permissions (``0o666`` less the umask, as ``open()`` gives), not
    ``mkstemp``'s ``0o600``.

    Args:
        dst (str): Final path.
        mode (str): ``'wb'`` (default) or ``'w'`` for text.
        durable (bool): ``fsync`` the file before the rename and its folder
            after it (see the module docstring). Default: True.

    Yields:
        file: The open temporary file.

    Raises:
        ValueError: If ``mode`` is not a write mode.
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f"atomic_file mode must be 'wb' or 'w', got {mode!r}")
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=temp_name_for(dst), suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dst)
        if durable:
            fsync_dir(folder)
    except BaseException:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise


def atomic_write_bytes(dst: str, data: bytes) -> None:
    """Write ``data`` to ``dst`` through :func:`atomic_file`."""
    with atomic_file(dst) as f:
        f.write(data)


def atomic_link_or_copy(src: str, dst: str, copy: bool = False) -> str:
    """Hard-link ``src`` to ``dst`` (or copy it), through a temporary name.

    A copy is made when ``copy=True``, when ``dst`` is on another file system
    or when the link is refused (e.g. ``fs.protected_hardlinks``). ``src`` is
    only read.

    Args:
        src (str): Existing file.
        dst (str): Final path.
        copy (bool): Always copy. Default: False.

    Returns:
        str: ``'linked'`` or ``'copied'``.
    """
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=temp_name_for(dst), suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    os.remove(tmp)
    try:
        how = 'copied'
        if not copy:
            try:
                os.link(src, tmp)
                how = 'linked'
            except OSError:  # EXDEV, EPERM (protected_hardlinks), no support
                pass
        if how == 'copied':
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise
    return how


def staging_dir_for(dst: str) -> str:
    """The staging folder :func:`atomic_dir` fills for ``dst``
    (``<dst>.partial``)."""
    return dst.rstrip('/\\') + '.partial'


def publish_dir(staging: str, dst: str) -> None:
    """Rename a filled staging folder to ``dst``.

    Raises:
        FileExistsError: If ``dst`` exists (a folder is never merged into).
    """
    if osp.exists(dst):
        raise FileExistsError(f'{dst} already exists: not replaced by '
                              f'{staging}')
    os.replace(staging, dst)


@contextmanager
def atomic_dir(dst: str) -> Iterator[str]:
    """Fill ``<dst>.partial``; rename it to ``dst`` when the block ends.

    A stale staging folder from an interrupted run is removed first; on an
    exception the staging folder is removed and ``dst`` never appears.

    Args:
        dst (str): Final folder; must not exist.

    Yields:
        str: The staging folder to write into.

    Raises:
        FileExistsError: If ``dst`` already exists.
    """
    if osp.exists(dst):
        raise FileExistsError(f'{dst} already exists: remove it or choose '
                              'another folder')
    staging = staging_dir_for(dst)
    if osp.exists(staging):
        shutil.rmtree(staging)
    os.makedirs(staging)
    try:
        yield staging
        publish_dir(staging, dst)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
