"""The server's flags checked before it starts, and a server killed outright (SIGKILL) whose temporary folder the
next server on the same --temp_dir removes."""

import signal
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.mark.parametrize(
    'flags, message',
    [
        (['--tile_batch', '0'], 'error: --tile_batch must be a positive integer, got 0.'),
        (['--max_file_size', 'abc'], "error: --max_file_size must be a size such as 500mb or 2gb, got 'abc'"),
        (['--listen', '10.255.254.253'], 'error: --listen 10.255.254.253 is not an address of this machine'),
    ],
)
def test_bad_server_flags_are_one_line_before_it_starts(flags, message):
    pytest.importorskip('gradio')
    result = subprocess.run(
        [sys.executable, 'app.py', *flags], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert 'Traceback' not in result.stdout + result.stderr


def test_the_folder_of_a_killed_server_is_removed_by_the_next_one(start_server, tmp_path):
    temp_dir = tmp_path / 'temp'
    temp_dir.mkdir()
    killed = start_server('--temp_dir', str(temp_dir))
    killed.process.send_signal(signal.SIGKILL)
    killed.process.wait()
    assert killed.root.is_dir()  # a killed process cannot clean up
    (temp_dir / 'realesrgan-web-unowned').mkdir()  # not a server's record: kept
    (temp_dir / 'other').mkdir()
    second = start_server('--temp_dir', str(temp_dir))
    assert not killed.root.exists()
    assert sorted(path.name for path in temp_dir.iterdir()) == sorted(
        ['other', 'realesrgan-web-unowned', second.root.name]
    )
    assert second.stop() == 0
    assert sorted(path.name for path in temp_dir.iterdir()) == ['other', 'realesrgan-web-unowned']
