"""atomic_output: the destination appears only complete, and nothing is left behind on failure."""

import os

import pytest

from realesrgan.fileio.atomic import atomic_output


def test_the_content_replaces_the_destination_when_the_block_succeeds(tmp_path):
    destination = tmp_path / 'sub' / 'out.png'
    with atomic_output(str(destination)) as temporary:
        assert os.path.dirname(temporary) == str(destination.parent)  # same folder: the rename is atomic
        assert temporary.endswith('.png') and os.path.basename(temporary).startswith('.')
        assert not destination.exists()
        with open(temporary, 'wb') as handle:
            handle.write(b'new')
    assert destination.read_bytes() == b'new'
    assert os.listdir(destination.parent) == ['out.png']


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    destination = tmp_path / 'meta_info.txt'
    destination.write_text('old\n')
    with pytest.raises(RuntimeError, match='disk full'):
        with atomic_output(str(destination)) as temporary:
            with open(temporary, 'w') as handle:
                handle.write('half')
            raise RuntimeError('disk full')
    assert destination.read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['meta_info.txt']


def test_a_block_that_writes_nothing_leaves_nothing(tmp_path):
    destination = tmp_path / 'never.txt'
    with pytest.raises(FileNotFoundError):
        with atomic_output(str(destination)):
            pass
    assert os.listdir(tmp_path) == []
