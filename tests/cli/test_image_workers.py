"""Several worker processes for a folder: the same bytes as one worker, devices per worker, dead workers."""

import queue
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.batch.image_task import ImageOutcome
from realesrgan.batch.job import JobSummary
from realesrgan.batch.plan import BatchItem
from realesrgan.batch.run import _ImageListener
from realesrgan.cli import image as cli
from realesrgan.execution.executor import WorkerStartError
from realesrgan.execution.job import job_devices
from realesrgan.execution.local_pool import PoolWatcher
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.zoo import save_checkpoint


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('weights') / 'small.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4).eval().state_dict(), path, 'params')
    return path


def run(tmp_path: Path, checkpoint: str, *args) -> int:
    return cli.main(['--model_path', checkpoint, '--weights_dir', str(tmp_path / 'weights'), *map(str, args)])


def mixed_folder(folder: Path) -> Path:
    """Eight images: 8- and 16-bit, gray, alpha, with and without metadata, in sub-folders."""
    rng = np.random.default_rng(3)
    (folder / 'sub').mkdir(parents=True)
    for k in range(4):
        cv2.imwrite(str(folder / f'photo{k}.png'), rng.integers(0, 256, (10 + k, 12, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / 'sub' / 'alpha.png'), rng.integers(0, 256, (9, 9, 4), dtype=np.uint8))
    cv2.imwrite(str(folder / 'sub' / 'gray.png'), rng.integers(0, 256, (8, 11), dtype=np.uint8))
    cv2.imwrite(str(folder / 'sub' / 'deep.tif'), rng.integers(0, 65536, (7, 8, 3), dtype=np.uint16))
    exif = Image.Exif()
    exif[0x010F] = 'TestCam'
    Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(folder / 'camera.jpg', exif=exif)
    return folder


def outputs(folder: Path) -> dict:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob('*')) if path.is_file()}


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_cpu_workers_write_the_bytes_of_one(tmp_path, checkpoint, capsys):
    source = mixed_folder(tmp_path / 'in')
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'one', '--recursive', '--device', 'cpu') == 0
    capsys.readouterr()
    two = ['-i', source, '-o', tmp_path / 'two', '--recursive', '--device', 'cpu', '--num_process_per_gpu', 2]
    assert run(tmp_path, checkpoint, *two) == 0
    out = capsys.readouterr().out
    assert '2 worker processes on cpu' in out and '8 of 8 image(s) upscaled' in out
    one = outputs(tmp_path / 'one')
    assert len(one) == 8 and outputs(tmp_path / 'two') == one


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_list_of_devices_runs_one_worker_each(tmp_path, checkpoint, capsys):
    source = mixed_folder(tmp_path / 'in')
    assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out', '--device', 'cpu,cpu') == 0
    assert '2 worker processes on cpu' in capsys.readouterr().out
    assert len(outputs(tmp_path / 'out')) == 5  # the top folder: four photos and the camera JPEG


def test_job_devices_per_worker():
    assert job_devices(UpscaleSettings(device='cpu'), 3) == ['cpu'] * 3
    assert job_devices(UpscaleSettings(device='cpu, cpu'), 2) == ['cpu'] * 4
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        job_devices(UpscaleSettings(device='cpu,gpu'), 1)
    with pytest.raises(ValueError, match='num_process_per_gpu must be at least 1'):
        job_devices(UpscaleSettings(device='cpu,cpu'), 0)


def test_a_bad_device_in_the_list_is_exit_2(tmp_path, checkpoint, capsys):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((4, 4, 3), np.uint8))
    assert run(tmp_path, checkpoint, '-i', tmp_path / 'a.png', '-o', tmp_path / 'out', '--device', 'cpu,gpu') == 2
    err = capsys.readouterr().err
    assert "Unknown device 'gpu'" in err and len(err.strip().splitlines()) == 1


class ScriptedEvents:
    """A stand-in event queue: delivers ``events``, then is empty."""

    def __init__(self, events: list) -> None:
        self.pending = list(events)

    def get(self, timeout: float) -> tuple:
        if not self.pending:
            raise queue.Empty
        return self.pending.pop(0)


class Bar:
    def __init__(self) -> None:
        self.n = 0

    def update(self) -> None:
        self.n += 1

    def set_postfix_str(self, text: str, refresh: bool) -> None:
        pass


def watcher(workers, summary: JobSummary, lines: list, bar: Bar) -> PoolWatcher:
    items = [BatchItem(f'in/{k}.png', f'out/{k}_out.png', False) for k in range(4)]
    listener = _ImageListener(items, summary, lines.append, False, None, None)
    listener.bar = bar
    return PoolWatcher(workers, ['cpu'] * len(workers), len(items), listener)


def written(watched: PoolWatcher) -> dict:
    return {index: result.value.path for index, result in watched.results.items() if result.ok}


def test_an_image_whose_worker_dies_fails_and_the_others_go_on():
    summary, lines, bar = JobSummary(total=4), [], Bar()
    workers = [SimpleNamespace(exitcode=None), SimpleNamespace(exitcode=-9)]
    events = [
        ('started', 0, 0),
        ('started', 1, 1),
        ('done', 0, 0, ImageOutcome('out/0_out.png')),
        ('started', 0, 2),
        ('error', 0, 2, 'cannot decode', 'ValueError: cannot decode'),
        ('started', 0, 3),
        ('done', 0, 3, ImageOutcome('out/3_out.png', ('a note',))),
    ]
    watched = watcher(workers, summary, lines, bar)
    watched.watch(ScriptedEvents(events))
    assert written(watched) == {0: 'out/0_out.png', 3: 'out/3_out.png'} and bar.n == 4
    assert summary.failed == [
        ('in/2.png', 'cannot decode'),
        ('in/1.png', 'worker 1 died (killed by SIGKILL, often: out of memory) while upscaling it'),
    ]
    assert summary.notes == ['a note']


def test_when_every_worker_has_exited_the_rest_fail():
    summary, lines, bar = JobSummary(total=4), [], Bar()
    workers = [SimpleNamespace(exitcode=-9), SimpleNamespace(exitcode=0)]
    events = [('started', 0, 0), ('started', 1, 1), ('done', 1, 1, ImageOutcome('out/1_out.png'))]
    watched = watcher(workers, summary, lines, bar)
    watched.watch(ScriptedEvents(events))
    assert written(watched) == {1: 'out/1_out.png'}
    assert [path for path, _ in summary.failed] == ['in/0.png', 'in/2.png', 'in/3.png']
    assert summary.failed[-1][1] == 'not upscaled: every worker process had exited'


def test_a_worker_that_cannot_start_stops_the_job():
    summary, lines, bar = JobSummary(total=4), [], Bar()
    workers = [SimpleNamespace(exitcode=None)]
    events = [('start_failed', 0, 'RuntimeError: CUDA error: out of memory (at upscaler.py:120)')]
    with pytest.raises(WorkerStartError, match='worker 0 on cpu could not start: RuntimeError: CUDA error'):
        watcher(workers, summary, lines, bar).watch(ScriptedEvents(events))
