"""Training runs that are raced and killed for real: two processes on one experiment, SIGKILL while saving, a
damaged latest state, and what the console shows (ETA at the end, no options dump before the progress)."""

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch
import yaml
from training_helpers import REPO_ROOT, single_thread_env, tiny_demo_options, write_dataset

NAME = 'raced'
pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

# train.py's main with a torch.save that stops (touching READY) once it has written a file whose name holds STOP;
# with TRUNCATE=1 it first cuts that file to half its size, as a kill in the middle of the write leaves it
DRIVER = """
import os, sys, time
import torch
from realesrgan import train

save = torch.save


def stopping_save(content, path, *args, **kwargs):
    save(content, path, *args, **kwargs)
    if os.environ['STOP'] in os.path.basename(str(path)):
        if os.environ.get('TRUNCATE') == '1':
            with open(path, 'r+b') as file:
                file.truncate(os.path.getsize(path) // 2)
        open(os.environ['READY'], 'w').close()
        time.sleep(120)


torch.save = stopping_save
sys.exit(train.main(os.environ['TRAIN_ROOT']))
"""


@pytest.fixture
def setup(tmp_path, sample_bgr) -> Dict[str, Path]:
    dataset = tmp_path / 'demo'
    write_dataset(dataset, sample_bgr, count=4)
    opt = tiny_demo_options('demo_realesrnet_x4plus', NAME, dataset, total_iter=6)
    opt['logger']['use_tb_logger'] = False
    options = tmp_path / 'options.yml'
    options.write_text(yaml.safe_dump(opt))
    driver = tmp_path / 'driver.py'
    driver.write_text(DRIVER)
    return {'root': tmp_path, 'options': options, 'driver': driver, 'experiment': tmp_path / 'experiments' / NAME}


def start(setup: Dict[str, Path], stop: str = 'no file', truncate: bool = False, *extra: str) -> subprocess.Popen:
    env = dict(
        single_thread_env(),
        TRAIN_ROOT=str(setup['root']),
        STOP=stop,
        TRUNCATE='1' if truncate else '0',
        READY=str(setup['root'] / 'ready'),
        PYTHONPATH=str(REPO_ROOT),  # this checkout's package, whatever is installed
    )
    command = [sys.executable, str(setup['driver']), '-opt', str(setup['options']), *extra]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(setup: Dict[str, Path], process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not (setup['root'] / 'ready').exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, 'the run never reached the save it should stop at'
        time.sleep(0.2)


def finish(process: subprocess.Popen, timeout: float = 300) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def loads(path: Path) -> bool:
    try:
        torch.load(path, map_location='cpu', weights_only=False)
    except Exception:
        return False
    return True


def damaged_files(experiment: Path) -> List[str]:
    """Checkpoints and states under their final names that do not load."""
    files = [*(experiment / 'models').glob('*.pth'), *(experiment / 'training_states').glob('*.state')]
    return sorted(path.name for path in files if not path.name.startswith('.') and not loads(path))


def partials(experiment: Path) -> List[str]:
    return sorted(path.name for path in experiment.rglob('.*') if path.is_file())


def test_a_second_run_of_a_running_experiment_is_refused_and_the_first_keeps_its_folder(setup):
    first = start(setup, stop='4.state')
    try:
        wait_ready(setup, first)
        second = finish(start(setup), timeout=240)
    finally:
        first.kill()  # it would sleep out its pause: its folder is what matters now
        finish(first)
    assert second.returncode == 2, second.stderr
    errors = [line for line in second.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, second.stderr
    assert f'process {first.pid}' in errors[0] and f'"{NAME}" is being trained' in errors[0]
    experiments = sorted(path.name for path in (setup['root'] / 'experiments').glob('[!.]*'))
    assert experiments == [NAME], experiments  # nothing archived, no second folder
    assert (setup['experiment'] / 'training_states' / '2.state').is_file()


def test_a_stale_lock_of_a_dead_process_is_taken_over(setup):
    dead = subprocess.Popen(['true'])
    dead.wait()
    lock = setup['root'] / 'experiments' / f'.{NAME}.lock'
    lock.parent.mkdir()
    lock.write_text(json.dumps({'host': socket.gethostname(), 'pid': dead.pid, 'started': 1}))
    result = finish(start(setup))
    assert result.returncode == 0, result.stderr
    assert not lock.exists()
    assert (setup['experiment'] / 'models' / 'net_g_latest.pth').is_file()


def test_a_run_killed_while_saving_leaves_no_damaged_file_and_auto_resume_finishes_it(setup):
    run = start(setup, '4.state', True)
    wait_ready(setup, run)
    run.send_signal(signal.SIGKILL)
    finish(run)
    assert damaged_files(setup['experiment']) == []  # a kill in a save never leaves a damaged file under its name
    resumed = finish(start(setup, 'no file', False, '--auto_resume'))
    assert resumed.returncode == 0, resumed.stderr
    assert 'Resuming training from epoch' in resumed.stdout + resumed.stderr
    states = sorted(path.name for path in (setup['experiment'] / 'training_states').glob('*.state'))
    assert states == ['2.state', '4.state', '6.state'] and damaged_files(setup['experiment']) == []
    assert partials(setup['experiment']) == []  # the killed writer's temporary file is gone too


def last_progress_line(text: str) -> Optional[str]:
    lines = [line for line in text.splitlines() if '[eta: ' in line]
    return lines[-1] if lines else None


def test_auto_resume_passes_over_a_damaged_latest_state_with_one_warning(setup):
    first = finish(start(setup))
    assert first.returncode == 0, first.stderr
    states = setup['experiment'] / 'training_states'
    good = (states / '4.state').read_bytes()
    (states / '6.state').write_bytes(good[: len(good) // 2])  # half-written, as a kill or a full disk leaves it
    (states / '8.state').write_bytes(b'')
    opt = yaml.safe_load(setup['options'].read_text())
    opt['train']['total_iter'] = 8
    setup['options'].write_text(yaml.safe_dump(opt))
    resumed = finish(start(setup, 'no file', False, '--auto_resume'))
    assert resumed.returncode == 0, resumed.stderr
    output = resumed.stdout + resumed.stderr
    warnings = [line for line in output.splitlines() if 'is damaged' in line]
    assert len(warnings) == 1, output
    assert '8.state' in warnings[0] and '6.state' in warnings[0] and 'resuming from' in warnings[0]
    assert warnings[0].rstrip().endswith(f'{states / "4.state"} instead')
    assert re.search(r'iter:\s*8,', output), output  # trained on to the new end


def test_the_console_shows_progress_soon_and_a_zero_eta_at_the_last_iteration(setup):
    result = finish(start(setup))
    assert result.returncode == 0, result.stderr
    console = (result.stdout + result.stderr).splitlines()
    first_progress = next(index for index, line in enumerate(console) if '[eta: ' in line)
    assert first_progress < 40, '\n'.join(console[:first_progress])
    assert '-1 day' not in last_progress_line('\n'.join(console))
    assert 'eta: 0:00:00' in last_progress_line('\n'.join(console))
    log = next((setup['experiment']).glob('train_*.log')).read_text()
    assert 'network_g:[' in log and 'Version Information' in log  # the dumps stay in the log file
