"""Without PyAV, the video package says in one line what to install (instead of "No module named 'av'")."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from realesrgan.video.deps import require_pyav

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_missing_pyav_is_one_line_naming_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, 'av', None)  # what Python does for a module that is not installed
    with pytest.raises(ImportError) as caught:
        require_pyav()
    message = str(caught.value)
    assert message == (
        'video upscaling needs PyAV, which is not installed: pip install av (in a clone of this '
        'project: pip install -e ".[video]")'
    )
    assert caught.value.name == 'av' and caught.value.__cause__ is None


def test_broken_pyav_says_what_failed_and_how_to_reinstall(tmp_path, monkeypatch):
    fake = tmp_path / 'av'
    fake.mkdir()
    (fake / '__init__.py').write_text("raise ImportError('libavformat.so.61: cannot open shared object file')\n")
    monkeypatch.delitem(sys.modules, 'av')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        ImportError,
        match=r'^PyAV is installed but cannot be imported \(libavformat\.so\.61: cannot '
        r'open shared object file\); reinstall it: pip install --force-reinstall av$',
    ):
        require_pyav()


def test_installed_pyav_passes():
    require_pyav()


@pytest.mark.subprocess
def test_the_job_without_pyav_ends_in_that_line_and_the_settings_import_without_it():
    code = (
        "import sys; sys.modules['av'] = None; from realesrgan.video import EncoderSettings, VideoJobError; "
        'EncoderSettings(crf=18); from realesrgan.video import upscale_video'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'ImportError: video upscaling needs PyAV, which is not installed: pip install av (in a clone of this '
        'project: pip install -e ".[video]")'
    )


@pytest.mark.subprocess
def test_the_video_command_line_without_pyav_answers_help_and_says_what_to_install(tmp_path):
    runner = 'import sys, runpy; sys.modules["av"] = None; sys.argv = ["x", *sys.argv[1:]]; '
    runner += 'runpy.run_path("inference_realesrgan_video.py", run_name="__main__")'
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    shown = subprocess.run(
        [sys.executable, '-c', runner, '--help'], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, env=env
    )
    assert shown.returncode == 0 and '--num_process_per_gpu' in shown.stdout
    run = subprocess.run(
        [sys.executable, '-c', runner, '-i', str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env=env,
    )
    assert run.returncode == 2 and 'Traceback' not in run.stderr
    assert run.stderr.strip().splitlines() == [
        'error: video upscaling needs PyAV, which is not installed: pip install av (in a clone of this project: '
        'pip install -e ".[video]")'
    ]
