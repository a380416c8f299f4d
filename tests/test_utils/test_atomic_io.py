import os

import pytest

from mmseg_ext.utils.atomic_io import (atomic_dir, atomic_file,
                                       atomic_link_or_copy, atomic_write_bytes)


def test_atomic_file_renames_only_when_complete(tmp_path):
    dst = tmp_path / 'sub' / 'out.bin'
    with atomic_file(str(dst)) as f:
        f.write(b'abc')
        assert not dst.exists()
        assert [p.name.endswith('.part')
                for p in dst.parent.iterdir()] == [True]
    assert dst.read_bytes() == b'abc'
    assert oct(dst.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert os.listdir(dst.parent) == ['out.bin']


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_file_failure_keeps_previous_and_leaves_no_temp(tmp_path):
    dst = tmp_path / 'out.txt'
    dst.write_text('old')
    with pytest.raises(RuntimeError, match='boom'):
        with atomic_file(str(dst), 'w') as f:
            f.write('new, half written')
            raise RuntimeError('boom')
    assert dst.read_text() == 'old'
    assert os.listdir(tmp_path) == ['out.txt']


def test_atomic_file_refuses_read_mode(tmp_path):
    with pytest.raises(ValueError, match="'rb'"):
        with atomic_file(str(tmp_path / 'x'), 'rb'):
            pass


def test_atomic_write_bytes_and_link_or_copy(tmp_path):
    src = tmp_path / 'src.bin'
    atomic_write_bytes(str(src), b'\x00\x01')
    how = atomic_link_or_copy(str(src), str(tmp_path / 'a' / 'dst.bin'))
    assert how in ('linked', 'copied')
    assert (tmp_path / 'a' / 'dst.bin').read_bytes() == b'\x00\x01'
    assert atomic_link_or_copy(
        str(src), str(tmp_path / 'c.bin'), copy=True) == 'copied'
    assert os.stat(tmp_path / 'c.bin').st_ino != os.stat(src).st_ino


def test_atomic_dir_publishes_or_removes(tmp_path):
    dst = tmp_path / 'sub'
    with atomic_dir(str(dst)) as staging:
        assert staging == str(dst) + '.partial'
        open(os.path.join(staging, 'a.png'), 'wb').close()
        assert not dst.exists()
    assert os.listdir(dst) == ['a.png']
    with pytest.raises(FileExistsError, match='already exists'):
        with atomic_dir(str(dst)):
            pass
    with pytest.raises(KeyError):
        with atomic_dir(str(tmp_path / 'other')) as staging:
            raise KeyError('x')
    assert sorted(os.listdir(tmp_path)) == ['sub']
