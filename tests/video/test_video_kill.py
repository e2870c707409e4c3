"""Killing or terminating a running video job: no worker may go on encoding, no work folder may stay behind.

Each kill test runs a real job in a child interpreter (``python -c`` calling :func:`job_main`), with a slow
stand-in upscaler whose workers record their process ids, then signals that child the way a user or a system
would, and watches the recorded processes through /proc.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from test_video_io import Resize, leftovers, make_clip, stream_info

from realesrgan.fileio.owner import start_time
from realesrgan.video import VideoJobTerminated, pipeline, upscale_video

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith('linux'), reason='signals and /proc as on Linux')


class SlowResize(Resize):
    """Stand-in that writes ``worker-<pid>`` (holding its parent's pid) into ``folder``, then takes 0.3 s a frame."""

    def __init__(self, folder: str) -> None:
        super().__init__(1)
        self.folder = folder

    def __call__(self, device: str):
        Path(self.folder, f'worker-{os.getpid()}').write_text(str(os.getppid()))
        return self.upscale

    def upscale(self, image):
        time.sleep(0.3)
        return super().upscale(image)


def job_main(clip: str, output: str, pids: str) -> None:
    """Body of the child interpreter: one job with two workers; exits 128 + signal number when stopped."""
    try:
        upscale_video(clip, output, SlowResize(pids), devices=['cpu', 'cpu'], segment_length=4)
    except KeyboardInterrupt as exc:
        sys.exit(128 + getattr(exc, 'signum', signal.SIGINT))


def start_job(clip: Path, output: Path, pids: Path) -> subprocess.Popen:
    """Start :func:`job_main` in a new session (its own process group) and wait until both workers run."""
    pids.mkdir()
    code = f'from test_video_kill import job_main; job_main({str(clip)!r}, {str(output)!r}, {str(pids)!r})'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(TESTS)]))
    child = subprocess.Popen([sys.executable, '-c', code], cwd=REPO_ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(worker_pids(pids)) < 2:
        assert child.poll() is None, f'the job ended early with exit status {child.returncode}'
        assert time.monotonic() < deadline, 'the workers did not start'
        time.sleep(0.1)
    time.sleep(0.5)  # a frame or two into their first segments
    return child


def worker_pids(pids: Path) -> List[int]:
    return [int(path.name.split('-')[1]) for path in pids.glob('worker-*')]


def helper_pids(pids: Path, job_pid: int) -> List[int]:
    """Processes that started the workers other than the job itself (the forkserver)."""
    return sorted({int(path.read_text()) for path in pids.glob('worker-*')} - {job_pid})


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: it only waits for its parent to collect its exit status)."""
    try:
        with open(f'/proc/{pid}/stat') as file:
            return file.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def wait_until_gone(pids: List[int], seconds: float = 5.0) -> List[int]:
    """The processes of ``pids`` still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if running(pid)]


@pytest.fixture
def clip(tmp_path) -> Path:
    """48 frames: 12 segments of 4, each taking the two workers 1.2 s, so jobs run long enough to be killed."""
    return make_clip(tmp_path / 'clip.mp4', num_frames=48, audio=None)


@pytest.fixture
def stop_leftovers():
    """Kill (by their recorded ids) whatever processes a failing test leaves running."""
    started: List[int] = []
    yield started
    for pid in started:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.subprocess
def test_sigkill_of_the_job_ends_its_workers_and_removes_the_work_folder(tmp_path, clip, stop_leftovers):
    output = tmp_path / 'out' / 'clip_out.mp4'
    child = start_job(clip, output, tmp_path / 'pids')
    workers = worker_pids(tmp_path / 'pids')
    helpers = helper_pids(tmp_path / 'pids', child.pid)
    stop_leftovers.extend(workers + helpers)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert wait_until_gone(workers) == [], 'workers went on encoding after the job was killed'
    assert wait_until_gone(helpers) == [], 'the process server outlived the job'
    assert leftovers(output.parent) == []


@pytest.mark.slow
@pytest.mark.subprocess
def test_sigterm_stops_the_job_as_ctrl_c_does(tmp_path, clip, stop_leftovers):
    output = tmp_path / 'out' / 'clip_out.mp4'
    child = start_job(clip, output, tmp_path / 'pids')
    workers = worker_pids(tmp_path / 'pids')
    stop_leftovers.extend(workers + helper_pids(tmp_path / 'pids', child.pid))
    child.send_signal(signal.SIGTERM)
    # the job raised VideoJobTerminated (a KeyboardInterrupt) after stopping its workers and cleaning up
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    assert [pid for pid in workers if running(pid)] == []
    assert leftovers(output.parent) == []


def test_sigterm_handler_is_installed_for_the_job_only_and_never_over_the_callers():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(VideoJobTerminated) as caught:
        with pipeline._sigterm_as_interrupt():
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # else the signal would end pytest
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises in this thread as soon as the signal arrives
    assert caught.value.signum == signal.SIGTERM and isinstance(caught.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    # a handler the caller installed stays in charge
    calls = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    try:
        with pipeline._sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert calls == [signal.SIGTERM]


@pytest.mark.slow
@pytest.mark.subprocess
def test_rerun_removes_the_work_folder_of_a_job_killed_with_all_its_processes(tmp_path, clip, stop_leftovers):
    """``kill -9`` of the whole process group (or the OOM killer, or a power cut): nobody could clean up."""
    output = tmp_path / 'out' / 'clip_out.mp4'
    child = start_job(clip, output, tmp_path / 'pids')
    everything = [child.pid] + worker_pids(tmp_path / 'pids') + helper_pids(tmp_path / 'pids', child.pid)
    stop_leftovers.extend(everything)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert wait_until_gone(everything) == []
    stale = leftovers(output.parent)
    assert len(stale) == 1 and stale[0].startswith('.clip_out.mp4.') and stale[0].endswith('.tmp')
    result = upscale_video(str(clip), str(output), Resize(2), segment_length=24)
    assert leftovers(output.parent) == ['clip_out.mp4']
    assert result.warnings == () and stream_info(output)['frames'] == 48


def write_owner(folder: Path, **owner) -> None:
    folder.mkdir()
    (folder / 'owner').write_text(json.dumps(owner))


def test_only_work_folders_of_this_output_whose_owner_is_gone_are_removed(tmp_path):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=4, audio=None)
    out = tmp_path / 'out'
    out.mkdir()
    host = pipeline.socket.gethostname()
    finished = subprocess.Popen(['true'])
    finished.wait()  # its process id is free now
    sleeper = subprocess.Popen(['sleep', '60'])
    try:
        live = dict(output='o.mp4', host=host, pid=sleeper.pid, started=start_time(sleeper.pid))
        write_owner(out / '.o.mp4.1.killed.tmp', output='o.mp4', host=host, pid=finished.pid, started=1)
        write_owner(out / '.o.mp4.2.reused.tmp', output='o.mp4', host=host, pid=os.getpid(), started=-1)
        write_owner(out / '.o.mp4.3.running.tmp', **live)
        write_owner(out / '.o.mp4.4.elsewhere.tmp', output='o.mp4', host=f'not-{host}', pid=finished.pid)
        write_owner(out / '.o.mp4.x.mp4.5.other.tmp', output='o.mp4.x.mp4', host=host, pid=finished.pid)
        (out / '.o.mp4.unowned.tmp').mkdir()  # as made before owners were recorded
        result = upscale_video(str(clip), str(out / 'o.mp4'), Resize(1))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert leftovers(out) == [
        '.o.mp4.3.running.tmp',
        '.o.mp4.4.elsewhere.tmp',
        '.o.mp4.unowned.tmp',
        '.o.mp4.x.mp4.5.other.tmp',
        'o.mp4',
    ]
    assert len(result.warnings) == 2
    assert all('(it may still be running); delete it if no such job runs' in line for line in result.warnings)
    assert '.o.mp4.4.elsewhere.tmp' in result.warnings[0] and '.o.mp4.unowned.tmp' in result.warnings[1]


def test_the_work_folder_records_its_owner(tmp_path, monkeypatch):
    seen = {}
    make = pipeline._make_work_folder

    def spy(output_path: str) -> str:
        folder = make(output_path)
        seen.update(json.loads(Path(folder, 'owner').read_text()), name=os.path.basename(folder))
        return folder

    monkeypatch.setattr(pipeline, '_make_work_folder', spy)
    upscale_video(str(make_clip(tmp_path / 'clip.mp4', num_frames=2, audio=None)), str(tmp_path / 'o.mp4'), Resize(1))
    assert seen['name'].startswith(f'.o.mp4.{os.getpid()}.') and seen['output'] == 'o.mp4'
    assert seen['pid'] == os.getpid() and seen['host'] == pipeline.socket.gethostname()
    assert seen['started'] == start_time(os.getpid()) is not None
    assert leftovers(tmp_path) == ['clip.mp4', 'o.mp4']
