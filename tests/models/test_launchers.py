"""Launchers of realesrgan/train.py: --local_rank / --local-rank / LOCAL_RANK, the process-group backend, torchrun
across two "machines" (rendezvous flags) and torch.distributed.launch, both with two CPU processes (gloo)."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import torch
import yaml
from test_train import experiment_name  # noqa: F401  (fixture)
from test_train_errors import fresh_basicsr_logger, train  # noqa: F401  (fixture)
from training_helpers import REPO_ROOT, single_thread_env, tiny_demo_options, write_dataset

from realesrgan.training.run import EXIT_NOT_STARTED, launcher_settings

NCCL_WARNING = 'warning: dist_params.backend is nccl, which needs CUDA GPUs'


@pytest.fixture
def launcher_env(monkeypatch) -> None:
    """A process as a launcher starts it (rank 0 of 2), without LOCAL_RANK, on a machine without CUDA."""
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


@pytest.mark.parametrize(
    'argv',
    [
        ['-opt', 'x.yml', '--local-rank=1', '--launcher', 'pytorch'],
        ['-opt', 'x.yml', '--local_rank=1', '--launcher', 'pytorch'],
        ['-opt', 'x.yml', '--local-rank', '1', '--launcher', 'pytorch'],
        ['--local_rank', '1', '-opt', 'x.yml', '--launcher', 'pytorch'],
    ],
)
def test_local_rank_flags_become_the_environment_and_leave_the_command_line(launcher_env, argv):
    assert launcher_settings(argv, {}, 'pytorch').argv == ['-opt', 'x.yml', '--launcher', 'pytorch']
    assert os.environ['LOCAL_RANK'] == '1'


def test_local_rank_of_the_environment_wins(launcher_env, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    assert launcher_settings(['--local-rank=1'], {}, 'pytorch').argv == []
    assert os.environ['LOCAL_RANK'] == '0'


@pytest.mark.parametrize(
    'argv,message',
    [
        (['--local-rank'], '--local-rank needs the local rank of this process, e.g. --local-rank=0'),
        (['--local-rank=one'], "--local-rank is 'one'; it must be the whole number"),
        (['--local_rank', '-opt', 'x.yml'], "--local_rank is '-opt'"),
    ],
)
def test_malformed_local_rank(launcher_env, argv, message):
    with pytest.raises(ValueError, match=message):
        launcher_settings(argv, {}, 'pytorch')


BACKENDS = [('nccl', False, 'gloo', True), (None, False, 'gloo', True), ('gloo', False, 'gloo', False)]


@pytest.mark.parametrize('backend,cuda,expected,warned', [*BACKENDS, ('nccl', True, 'nccl', False)])
def test_backend_is_that_of_the_options_and_gloo_for_nccl_without_cuda(
    launcher_env, monkeypatch, backend, cuda, expected, warned
):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    opt = {'dist_params': {'backend': backend, 'port': 29500}} if backend else {}
    settings = launcher_settings([], opt, 'pytorch')
    assert settings.backend == expected
    assert [line.split(',')[0] for line in settings.warnings] == (['dist_params.backend is nccl'] if warned else [])
    assert launcher_settings([], opt, 'none').backend is None


def test_launchers_that_cannot_start_here(launcher_env, monkeypatch):
    with pytest.raises(ValueError, match='--launcher slurm needs CUDA GPUs'):
        launcher_settings([], {}, 'slurm')
    monkeypatch.delenv('RANK')
    with pytest.raises(ValueError, match='--launcher pytorch needs the RANK and WORLD_SIZE a launcher sets'):
        launcher_settings([], {}, 'pytorch')


def test_train_script_reports_a_launcher_problem_in_one_line(tmp_path, monkeypatch, capsys, sample_bgr):
    write_dataset(tmp_path / 'demo', sample_bgr, count=4)
    options_file = tmp_path / 'opt.yml'
    options_file.write_text(yaml.safe_dump(tiny_demo_options('demo_realesrnet_x4plus', 'x', tmp_path / 'demo', 2)))
    monkeypatch.delenv('RANK', raising=False)
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', options_file, '--launcher', 'pytorch')
    assert status == EXIT_NOT_STARTED and len(err) == 1 and 'torchrun --nproc_per_node=N' in err[0]
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', options_file, '--local-rank=x')
    assert status == EXIT_NOT_STARTED and err == [
        "error: --local-rank is 'x'; it must be the whole number of this process on its machine"
    ]
    assert not (tmp_path / 'experiments').exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def distributed_options(tmp_path: Path, sample_bgr, name: str) -> Path:
    """The tiny demo RealESRNet on four images, 2 iterations of batch 1 per process, no validation."""
    write_dataset(tmp_path / 'demo', sample_bgr, count=4)
    opt = tiny_demo_options('demo_realesrnet_x4plus', name, tmp_path / 'demo', total_iter=2)
    opt['datasets']['train']['batch_size_per_gpu'] = 1
    opt['queue_size'] = 2
    del opt['val'], opt['datasets']['val']
    options_file = tmp_path / 'options.yml'
    options_file.write_text(yaml.safe_dump(opt))
    return options_file


def check_trained(name: str, outputs: List[str]) -> None:
    """Both processes trained 2 iterations in one group of 2; the nccl warning was shown once."""
    text = '\n'.join(outputs)
    assert text.count(NCCL_WARNING) == 1, text[-3000:]
    experiment = REPO_ROOT / 'experiments' / name
    assert {path.name for path in (experiment / 'models').iterdir()} == {'net_g_2.pth', 'net_g_latest.pth'}
    (log,) = experiment.glob('train_*.log')
    assert 'world_size: 2' in log.read_text() and 'End of training' in log.read_text()


TRAIN_SCRIPT = str(REPO_ROOT / 'realesrgan' / 'train.py')


@pytest.mark.slow
@pytest.mark.subprocess
def test_torch_distributed_launch_passes_local_rank_flags(tmp_path, sample_bgr, experiment_name):  # noqa: F811
    options_file = distributed_options(tmp_path, sample_bgr, experiment_name)
    command = [
        sys.executable,
        '-m',
        'torch.distributed.launch',  # deprecated, and still what many guides use: it adds --local-rank=N
        '--nproc_per_node=2',
        f'--master_port={free_port()}',
        TRAIN_SCRIPT,
        '-opt',
        str(options_file),
        '--launcher',
        'pytorch',
    ]
    result = subprocess.run(command, cwd=tmp_path, env=single_thread_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    check_trained(experiment_name, [result.stdout, result.stderr])


@pytest.mark.slow
@pytest.mark.subprocess
def test_torchrun_on_two_nodes_with_rendezvous_flags(tmp_path, sample_bgr, experiment_name):  # noqa: F811
    options_file = distributed_options(tmp_path, sample_bgr, experiment_name)
    rendezvous = ['--nnodes=2', '--nproc_per_node=1', '--rdzv_backend=c10d', f'--rdzv_endpoint=127.0.0.1:{free_port()}']
    nodes = [
        subprocess.Popen(
            [sys.executable, '-m', 'torch.distributed.run', *rendezvous, '--rdzv_id=pytest', TRAIN_SCRIPT]
            + ['-opt', str(options_file), '--launcher', 'pytorch'],
            cwd=tmp_path,
            env=single_thread_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for node in nodes:
        try:
            outputs.append(node.communicate(timeout=300)[0])
        finally:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], '\n'.join(outputs)[-5000:]
    check_trained(experiment_name, outputs)
