"""A batch killed half-way (SIGKILL) and run again with --skip_existing ends as a clean run, byte for byte.

The killed run is a real command line in a child interpreter, with the official weights of a packaged model, and
two worker processes, so it also shows that workers end with the job's process when that one is killed. The clean
run and the rerun are the same command line in this process (one torch thread, as the killed run's workers).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import pytest
from helpers import INPUTS, REPO_ROOT, WEIGHTS_DIR, official_weights

from realesrgan.cli import image as cli

MODEL = 'RealESRGAN_x4plus_anime_6B'
NUM_IMAGES = 8
SIZE = 96  # large enough that the kill lands before the last image, also where bf16 is fast

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.slow,
    pytest.mark.weights,
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='signals and /proc as on Linux'),
]


def make_inputs(folder: Path) -> Path:
    """Different small crops of the sample photos, half of them one folder down."""
    photos = [cv2.imread(str(INPUTS / name)) for name in ('astronaut.png', 'chelsea.jpg')]
    for k in range(NUM_IMAGES):
        path = folder / ('sub' if k % 2 else '.') / f'crop{k:02d}.png'
        path.parent.mkdir(parents=True, exist_ok=True)
        top, left = 5 * k, 7 * k
        assert cv2.imwrite(str(path), photos[k % 2][top : top + SIZE, left : left + SIZE])
    return folder


def arguments(source: Path, output: Path, *extra: str) -> List[str]:
    return [
        '-n',
        MODEL,
        '--weights_dir',
        str(WEIGHTS_DIR),
        '-i',
        str(source),
        '-o',
        str(output),
        '--recursive',
        '--device',
        'cpu',
        *extra,
    ]


def finished(folder: Path) -> Dict[str, Tuple[int, int]]:
    """The outputs under ``folder`` (temporary files left out), with their inode and modification time."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in folder.rglob('*.png')
        if not path.name.startswith('.')
    }


def processes_of_session(session: int) -> List[int]:
    """Process ids of the processes still in ``session`` (read from /proc)."""
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat', encoding='ascii', errors='replace') as file:
                    fields = file.read().rsplit(')', 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == session and fields[0] != 'Z':
                pids.append(int(entry))
    return pids


def test_a_killed_batch_resumes_with_skip_existing_and_equals_a_clean_run(tmp_path, capsys):
    official_weights(MODEL)
    source = make_inputs(tmp_path / 'in')
    clean, resumed = tmp_path / 'clean', tmp_path / 'resumed'
    assert cli.main(arguments(source, clean)) == 0
    assert len(finished(clean)) == NUM_IMAGES

    job = subprocess.Popen(
        [sys.executable, 'inference_realesrgan.py', *arguments(source, resumed, '--num_process_per_gpu', '2')],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while len(finished(resumed)) < 2:
        assert job.poll() is None, f'the job ended before it was killed (exit status {job.returncode})'
        assert time.monotonic() < deadline, 'the job wrote nothing in time'
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    deadline = time.monotonic() + 30
    while processes_of_session(job.pid) and time.monotonic() < deadline:  # the workers end with the job
        time.sleep(0.1)
    assert processes_of_session(job.pid) == []
    survived = finished(resumed)
    assert 2 <= len(survived) < NUM_IMAGES, 'the kill should land half-way'

    capsys.readouterr()
    assert cli.main(arguments(source, resumed, '--skip_existing')) == 0
    out = capsys.readouterr().out
    assert f'{NUM_IMAGES - len(survived)} of {NUM_IMAGES} image(s) upscaled' in out
    assert f'{len(survived)} image(s) skipped: their output exists' in out
    after = finished(resumed)
    assert {name: after[name] for name in survived} == survived  # nothing written twice
    assert sorted(after) == sorted(finished(clean))
    for name in after:
        assert (resumed / name).read_bytes() == (clean / name).read_bytes(), name
    leftovers = [path.name for path in resumed.rglob('.*')]
    assert leftovers == []  # the killed run's temporary files were removed
