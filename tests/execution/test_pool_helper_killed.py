"""Killing the batch's multiprocessing helper (the forkserver that starts the workers), for real: the job ends with
one line, no traceback, and no file written."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from helpers import INPUTS, REPO_ROOT, WEIGHTS_DIR, official_weights

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def children(pid: int) -> List[int]:
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = Path(f'/proc/{entry}/stat').read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def command_line(pid: int) -> bytes:
    try:
        return Path(f'/proc/{pid}/cmdline').read_bytes()
    except OSError:
        return b''


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc')
def test_a_killed_forkserver_ends_the_job_in_one_line(tmp_path):
    official_weights('realesr-animevideov3')
    output = tmp_path / 'out'
    flags = ['-n', 'realesr-animevideov3', '-i', str(INPUTS), '-o', str(output), '--weights_dir', str(WEIGHTS_DIR)]
    job = subprocess.Popen(
        [sys.executable, 'inference_realesrgan.py', *flags, '--device', 'cpu', '--num_process_per_gpu', '2'],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    helper = None
    while helper is None and job.poll() is None and time.monotonic() < deadline:
        # it appears as the workers are about to start, and loads the engine first: killed before they start
        helper = next((pid for pid in children(job.pid) if b'forkserver' in command_line(pid)), None)
        time.sleep(0.01)
    assert helper is not None, 'no forkserver was seen'
    os.kill(helper, signal.SIGKILL)
    text = job.communicate(timeout=120)[0].decode(errors='replace')
    assert 'Traceback' not in text and 'resource_tracker' not in text, text
    errors = [line for line in text.splitlines() if line.startswith('error:')]
    assert job.returncode == 2 and len(errors) == 1, text
    assert 'could not start: the process that starts the workers ended' in errors[0]
    assert not output.exists() or os.listdir(output) == []  # no worker ran: nothing written, nothing half-written
