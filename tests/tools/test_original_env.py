"""The original's environment imports the original ``realesrgan==0.3.0``, whatever is installed beside it.

This project is installed (editable) in the environment that runs the tests, and ``python`` started in the repository
root finds ``./realesrgan`` first: both would shadow the original. The tests start the original's interpreter as
the benchmarks do (probes isolated, workers with ``-E -s`` from ``benchmarks/``), with the repository on
``PYTHONPATH``, and check where ``import realesrgan`` lands. Building the environment needs the package registry
once (``benchmarks/.venv-original``, reused afterwards); without it the tests are skipped and say why.
"""

import os
import subprocess
from pathlib import Path

import pytest
from benchlib import original_env
from benchlib.workers import BENCH_DIR
from helpers import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


@pytest.fixture(scope='module')
def original_python() -> Path:
    """The original's interpreter, made on first use (needs the package registry then)."""
    try:
        return original_env.ensure_original_python()
    except RuntimeError as error:
        pytest.skip(
            f'the environment of {original_env.ORIGINAL_REQUIREMENT} is absent and could not be made '
            f'(no access to the package registry?): {str(error).splitlines()[0]}'
        )


def shadowing_env() -> dict:
    """Everything that would put this project first: the repository on PYTHONPATH (and, by the cwd, on sys.path)."""
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def test_the_original_is_imported_even_from_the_repository_root(original_python):
    location = original_env.original_package_location(original_python, cwd=REPO_ROOT, env=shadowing_env())
    assert location['version'] == original_env.ORIGINAL_VERSION
    assert location['file'].startswith(location['site'] + os.sep)
    assert not location['file'].startswith(str(REPO_ROOT / 'realesrgan'))


def test_the_worker_refuses_a_shadowed_package_and_accepts_the_original(original_python):
    code = (
        'import benchlib.original_worker as worker; '
        'worker.install_functional_tensor_alias(); print(worker.check_original_package())'
    )
    # as the benchmarks start a worker: -E -s, from benchmarks/ (PYTHONPATH naming the repository is ignored)
    started = subprocess.run(
        original_env.worker_python(str(original_python)) + ['-c', code],
        cwd=BENCH_DIR,
        env=shadowing_env(),
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    assert 'site-packages' in started.stdout and str(REPO_ROOT / 'realesrgan') not in started.stdout
    # the same interpreter without those flags, from the repository root, finds ./realesrgan first: the check must
    # say so, not measure it
    plain = subprocess.run(
        [str(original_python), '-c', code],
        cwd=REPO_ROOT,
        env=dict(shadowing_env(), PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(BENCH_DIR)])),
        capture_output=True,
        text=True,
    )
    assert plain.returncode != 0
    assert f'not the original {original_env.ORIGINAL_VERSION}' in plain.stderr
    assert 'python -E -s -m benchlib.original_worker' in plain.stderr


def test_the_video_tools_are_in_the_original_environment(original_python):
    found = subprocess.run(
        original_env.isolated(str(original_python))
        + ['-c', 'import ffmpeg, imageio_ffmpeg, os; print(os.path.isfile(imageio_ffmpeg.get_ffmpeg_exe()))'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0 and found.stdout.strip() == 'True', found.stderr[-2000:]
