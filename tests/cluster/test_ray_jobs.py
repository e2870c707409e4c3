"""Both command lines on Ray (issue 28): embedded and on a two-node cluster, byte for byte the local run's outputs,
with a worker killed mid-job and with the driver killed and the job resumed.

Each case is a real command line in a child interpreter; the local reference is the same command line without
``--ray`` (fp32, the original's pixels). Ray's start-up dominates these small jobs, so the cases are few.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from conftest import (
    IMAGE_MODEL,
    NUM_IMAGES,
    assert_same_files,
    child_env,
    image_args,
    nodes_that_worked,
    outputs,
    run_cli,
    video_args,
)
from helpers import REPO_ROOT, WEIGHTS_DIR

pytest.importorskip('ray', reason='the cluster tests need Ray: pip install -e ".[cluster]"')
psutil = pytest.importorskip('psutil')

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.subprocess,
    pytest.mark.slow,
    pytest.mark.weights,
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='signals and /proc as on Linux'),
]


def start_cli(args, env) -> subprocess.Popen:
    """Start one command line of this checkout in a session of its own (its processes can be found after it)."""
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_outputs(job: subprocess.Popen, folder: Path, count: int, seconds: float = 300) -> None:
    """Wait until ``folder`` holds ``count`` finished outputs, the job still running."""
    deadline = time.monotonic() + seconds
    while len(outputs(folder)) < count:
        assert job.poll() is None, f'the job ended first (exit status {job.returncode}): {job.stderr.read()}'
        assert time.monotonic() < deadline, 'the job wrote nothing in time'
        time.sleep(0.05)


def session_processes(session: int) -> list:
    """The live processes of a session."""
    found = []
    for process in psutil.process_iter(['pid']):
        try:
            if os.getsid(process.pid) == session and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (OSError, psutil.Error):
            continue
    return found


def assert_video_matches(output: Path, reference: Path) -> None:
    """The same file as the local run's: same frames, timing and audio, byte for byte (and it has sound)."""
    assert output.read_bytes() == reference.read_bytes()
    with av.open(str(output)) as container:
        assert len(container.streams.audio) == 1 and container.streams.video[0].frames == 48


def test_embedded_ray_upscales_images_and_video_as_the_local_run(inputs, reference, tmp_path):
    folder, clip = inputs
    images = run_cli(image_args(folder, tmp_path / 'images', '--ray'), child_env())
    assert images.returncode == 0, images.stderr
    assert f'{NUM_IMAGES} of {NUM_IMAGES} image(s) upscaled' in images.stdout
    assert sum(nodes_that_worked(images.stdout).values()) == NUM_IMAGES
    assert_same_files(tmp_path / 'images', reference[0])

    video = run_cli(video_args(clip, tmp_path / 'video', '--ray'), child_env())
    assert video.returncode == 0, video.stderr
    assert_video_matches(tmp_path / 'video' / 'clip_out.mp4', reference[1] / 'clip_out.mp4')


def test_a_bad_file_on_ray_is_reported_and_the_batch_goes_on(inputs, reference, tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    (folder / 'broken.png').write_bytes(b'not a png at all')
    (folder / 'crop00.png').write_bytes((inputs[0] / 'crop00.png').read_bytes())
    result = run_cli(image_args(folder, tmp_path / 'out', '--ray'), child_env())
    assert result.returncode == 1, result.stderr
    assert '1 of 2 image(s) upscaled' in result.stdout and '1 FAILED:' in result.stdout
    assert f'  {folder / "broken.png"}: ' in result.stdout
    assert (tmp_path / 'out' / 'crop00_out.png').read_bytes() == (reference[0] / 'crop00_out.png').read_bytes()
    assert sorted(path.name for path in (tmp_path / 'out').iterdir()) == ['crop00_out.png']


def test_a_killed_video_driver_resumes_from_the_finished_segments(inputs, reference, tmp_path):
    _, clip = inputs
    output = tmp_path / 'video'
    job = start_cli(video_args(clip, output, '--ray'), child_env())
    try:
        deadline = time.monotonic() + 300
        while len(list(output.glob('.*.tmp/segment_*.mp4'))) < 2:
            assert job.poll() is None, f'the job ended first (exit status {job.returncode}): {job.stderr.read()}'
            assert time.monotonic() < deadline, 'no segment was finished in time'
            time.sleep(0.05)
    finally:
        os.kill(job.pid, signal.SIGKILL)
        job.communicate()
    assert not (output / 'clip_out.mp4').exists()

    rerun = run_cli(video_args(clip, output, '--ray'), child_env())
    assert rerun.returncode == 0, rerun.stderr
    assert 'frames reused from the interrupted run' in rerun.stdout
    assert_video_matches(output / 'clip_out.mp4', reference[1] / 'clip_out.mp4')
    assert sorted(path.name for path in output.iterdir()) == ['clip_out.mp4']  # the work folder is gone


def test_a_two_node_cluster_upscales_images_and_video_as_the_local_run_on_both_nodes(
    inputs, reference, two_nodes, tmp_path
):
    folder, clip = inputs
    images = run_cli(image_args(folder, tmp_path / 'images', '--ray', two_nodes.address), two_nodes.env)
    assert images.returncode == 0, images.stderr
    assert '2 Ray worker(s) on cpu (2 node(s))' in images.stdout
    per_node = nodes_that_worked(images.stdout)
    assert len(per_node) == 2 and sum(per_node.values()) == NUM_IMAGES and min(per_node.values()) > 0
    assert_same_files(tmp_path / 'images', reference[0])

    video = run_cli(video_args(clip, tmp_path / 'video', '--ray', two_nodes.address), two_nodes.env)
    assert video.returncode == 0, video.stderr
    per_node = nodes_that_worked(video.stdout)  # the 4 segments
    assert len(per_node) == 2 and sum(per_node.values()) == 4 and min(per_node.values()) > 0
    assert_video_matches(tmp_path / 'video' / 'clip_out.mp4', reference[1] / 'clip_out.mp4')


def test_a_worker_killed_mid_job_is_restarted_and_the_outputs_are_complete(inputs, reference, two_nodes, tmp_path):
    folder, _ = inputs
    output = tmp_path / 'images'
    job = start_cli(image_args(folder, output, '--ray', two_nodes.address), two_nodes.env)
    try:
        wait_for_outputs(job, output, 2)
        actors = [p for p in psutil.process_iter(['cmdline']) if (p.info['cmdline'] or [''])[0].startswith('ray::Upsc')]
        assert len(actors) == 2, [p.info['cmdline'] for p in actors]
        written_before = len(outputs(output))
        actors[0].kill()
        stdout, stderr = job.communicate(timeout=600)
    finally:
        job.kill()
    assert written_before < NUM_IMAGES, 'the kill should land mid-job'
    assert job.returncode == 0, stderr
    assert f'{NUM_IMAGES} of {NUM_IMAGES} image(s) upscaled' in stdout and 'FAILED' not in stdout
    assert_same_files(output, reference[0])


def test_a_killed_driver_leaves_finished_outputs_that_a_rerun_with_skip_existing_keeps(inputs, reference, tmp_path):
    folder, _ = inputs
    output = tmp_path / 'images'
    job = start_cli(image_args(folder, output, '--ray'), child_env())
    try:
        wait_for_outputs(job, output, 2)
    finally:
        os.kill(job.pid, signal.SIGKILL)
        job.communicate()
    survived = outputs(output)
    assert 2 <= len(survived) < NUM_IMAGES, 'the kill should land mid-job'

    rerun = run_cli(image_args(folder, output, '--ray', '--skip_existing'), child_env())
    assert rerun.returncode == 0, rerun.stderr
    assert f'{NUM_IMAGES - len(survived)} of {NUM_IMAGES} image(s) upscaled' in rerun.stdout
    assert f'{len(survived)} image(s) skipped: their output exists' in rerun.stdout
    after = outputs(output)
    assert {name: after[name] for name in survived} == survived  # nothing rewritten: same inodes and times
    assert_same_files(output, reference[0])

    # the embedded Ray of the killed driver ends by itself (its agents notice the lost raylet within a minute or two)
    deadline = time.monotonic() + 180
    while session_processes(job.pid) and time.monotonic() < deadline:
        time.sleep(1)
    assert session_processes(job.pid) == []


_WEB_JOB = """
import glob, json, shutil, sys
from realesrgan.web.image_handler import ImageChoices, upscale_images
from realesrgan.web.cancel_board import CancelToken
from realesrgan.web.server import engine_flags
from realesrgan.web.web_cli import build_parser
from realesrgan.web.workspace import Workspace

uploads, model, weights, temp, address = sys.argv[1:]
server = engine_flags(build_parser().parse_args(['--ray', address, '--device', 'cpu', '--weights_dir', weights]))
choices = ImageChoices(model_name=model, precision='fp32')
workspace = Workspace(temp)
uploaded = [shutil.copy(path, workspace.gradio_cache) for path in sorted(glob.glob(uploads + '/*.png'))]
result = upscale_images(uploaded, choices, server, workspace, CancelToken(), lambda fraction, what: None)
print(json.dumps({'message': result.message, 'outputs': [output.path for output in result.outputs]}))
"""


def test_the_web_page_with_ray_runs_its_jobs_on_the_cluster(inputs, reference, two_nodes, tmp_path):
    folder, _ = inputs
    code = [sys.executable, '-c', _WEB_JOB, str(folder), IMAGE_MODEL, str(WEIGHTS_DIR), str(tmp_path)]
    code.append(two_nodes.address)
    result = subprocess.run(code, cwd=REPO_ROOT, env=two_nodes.env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout.strip().splitlines()[-1])
    assert page['message'].startswith(f'{NUM_IMAGES} of {NUM_IMAGES} image(s) upscaled'), page['message']
    assert len(page['outputs']) == NUM_IMAGES
    for path in map(Path, page['outputs']):
        assert path.read_bytes() == (reference[0] / path.name).read_bytes(), path.name


# last of the module: it ends the second node of the module's cluster
def test_the_work_of_a_node_that_dies_is_done_by_the_others(inputs, reference, two_nodes, tmp_path):
    folder, _ = inputs
    output = tmp_path / 'images'
    job = start_cli(image_args(folder, output, '--ray', two_nodes.address), two_nodes.env)
    try:
        wait_for_outputs(job, output, 2)
        raylets = [
            process
            for process in psutil.process_iter(['cmdline'])
            if (process.info['cmdline'] or [''])[0].endswith('raylet')
            and any(two_nodes.temp_dir in part for part in process.info['cmdline'])
        ]
        second = [process for process in raylets if '--head' not in process.info['cmdline']]
        assert len(raylets) == 2 and len(second) == 1
        written_before = len(outputs(output))
        for process in [*second[0].children(recursive=True), second[0]]:  # the node and its workers
            process.kill()
        stdout, stderr = job.communicate(timeout=600)
    finally:
        job.kill()
    assert written_before < NUM_IMAGES, 'the node should die mid-job'
    assert job.returncode == 0, stderr
    assert f'{NUM_IMAGES} of {NUM_IMAGES} image(s) upscaled' in stdout and 'FAILED' not in stdout
    assert_same_files(output, reference[0])
