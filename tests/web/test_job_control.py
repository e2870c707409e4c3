"""The page's jobs under an API cancel and a SIGTERM, for real: ``gradio_client``'s ``Job.cancel()`` stops the work
on the server as the page's Cancel button does (the device is free only once it stopped, its folder is gone), and
a SIGTERM ends the server, its jobs and its whole process tree cleanly, with a video job running.
"""

import os
import time
from pathlib import Path
from typing import List, Set

import cv2
import numpy as np
import pytest
from helpers import INPUTS, official_weights

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

CHOICES = {
    'model_file': None,
    'outscale': 0,
    'denoise_strength': 0.5,
    'face_enhance': False,
    'precision': 'fp32',
}
IMAGE_CHOICES = {**CHOICES, 'ext': 'auto', 'quality': 0, 'keep_metadata': True}
JOB_SECONDS = 300
# how long the processes of a stopped server may take to go (a deadline to wait for, not a measured time)
GONE_SECONDS = 10


@pytest.fixture(scope='module')
def gradio_client():
    return pytest.importorskip('gradio_client')


def client_of(server, gradio_client, folder: Path):
    return gradio_client.Client(server.url, verbose=False, download_files=str(folder))


def submit_image(tab, path: Path, **choices):
    from gradio_client import handle_file

    values = {**IMAGE_CHOICES, 'model_name': 'realesr-animevideov3', 'tile': 0, **choices}
    return tab.submit(files=[handle_file(str(path))], **values, api_name='/upscale_images')


def wait_for_progress(job, word: str) -> None:
    """Wait until the job's progress bar names ``word`` (``'tile'``, ``'frames'``): the work is under way."""
    deadline = time.monotonic() + JOB_SECONDS
    while time.monotonic() < deadline:
        assert not job.done(), job.result()
        units = job.status().progress_data or []
        if any(word in (unit.desc or '') and (unit.progress or 0) > 0 for unit in units):
            return
        time.sleep(0.1)
    pytest.fail(f'no {word} progress within {JOB_SECONDS} s')


def noise_image(path: Path, side: int) -> Path:
    assert cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8))
    return path


def descendants(pid: int) -> Set[int]:
    """Every process under ``pid`` now (from /proc)."""
    children: dict = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = Path(f'/proc/{entry}/stat').read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(')', 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found: Set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: Set[int]) -> List[str]:
    """The processes of ``pids`` that still run (zombies count as gone), with their command lines."""
    left = []
    for pid in sorted(pids):
        try:
            state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
            command = Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if state != 'Z':
            left.append(f'{pid}: {command}')
    return left


def assert_clean_stop(server) -> None:
    """SIGTERM ends the server with 0 or 143, without an abort or Gradio's lines, and removes its folder."""
    code = server.stop()
    log = server.log()
    assert code in (0, 143), log
    assert 'terminate called' not in log and 'Traceback' not in log, log
    assert 'Keyboard interruption' not in log and 'launch()' not in log, log  # Gradio's lines, not ours
    assert not server.root.exists()


@pytest.fixture(scope='module')
def server(start_server):
    official_weights('RealESRGAN_x4plus')
    official_weights('realesr-animevideov3')
    return start_server('--precision', 'fp32')


def test_an_api_cancel_stops_the_work_frees_the_device_and_removes_the_folder(server, gradio_client, tmp_path):
    tab = client_of(server, gradio_client, tmp_path / 'first')
    other_tab = client_of(server, gradio_client, tmp_path / 'second')
    slow = noise_image(tmp_path / 'slow.png', 140)
    first = submit_image(tab, slow, model_name='RealESRGAN_x4plus', tile=16)  # about a hundred tiles
    wait_for_progress(first, 'tile')
    (cancelled_folder,) = server.jobs()
    assert first.cancel()
    second = submit_image(other_tab, INPUTS / 'astronaut.png')
    deadline = time.monotonic() + JOB_SECONDS
    while not second.status().progress_data and not second.done():
        assert time.monotonic() < deadline, 'the second job never started'
        time.sleep(0.05)
    # the second job works only once the cancelled one stopped: by then that one removed its folder
    assert cancelled_folder not in server.jobs()
    assert '1 of 1 image(s) upscaled' in second.result(timeout=JOB_SECONDS)[0]
    assert cancelled_folder not in server.jobs()
    assert len([job for job in server.jobs() if job.endswith('-images')]) == 1


def test_sigterm_after_an_api_cancel_stops_the_server_cleanly(server):
    assert_clean_stop(server)


def test_sigterm_during_a_video_job_leaves_no_process(start_server, gradio_client, tmp_path):
    pytest.importorskip('av')
    from gradio_client import handle_file

    from realesrgan.video.sample_clip import panning_frames, write_clip

    official_weights('realesr-animevideov3')
    video_server = start_server('--precision', 'fp32')
    tab = client_of(video_server, gradio_client, tmp_path / 'client')
    photo = cv2.imread(str(INPUTS / 'astronaut.png'))

    def submit_video(frames: int):
        clip = write_clip(str(tmp_path / f'clip{frames}.mp4'), list(panning_frames(photo, (64, 48), frames)), fps=8)
        values = {**CHOICES, 'model_name': 'realesr-animevideov3', 'tile': 0, 'crf': 23}
        return tab.submit(upload=handle_file(clip), **values, api_name='/upscale_video')

    status = submit_video(4).result(timeout=JOB_SECONDS)[0]
    assert 'Saved' in status and '4 frames' in status
    assert str(video_server.root) not in status and 'clip4_out.mp4' in status  # no server path on the page

    job = submit_video(400)
    wait_for_progress(job, 'frames')
    tree = descendants(video_server.process.pid)
    assert tree  # the job's worker processes (and multiprocessing's helpers)
    assert_clean_stop(video_server)
    deadline = time.monotonic() + GONE_SECONDS
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(tree), alive(tree)
