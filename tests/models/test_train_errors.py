"""realesrgan/train.py with bad options, arguments and data: one line on stderr, the documented exit status, and
no experiment folder left by a run that trained nothing. Runs in-process (about a second each), one as a script."""

import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.utils import logger as basicsr_logger
from training_helpers import REPO_ROOT, single_thread_env, tiny_demo_options, write_dataset

from realesrgan import train as train_script
from realesrgan.training.run import EXIT_NOT_STARTED, EXIT_STOPPED, TRACEBACK_ENV

NAME = 'errors'


@pytest.fixture(scope='module')
def dataset(tmp_path_factory, sample_bgr) -> Path:
    """Four 80x80 training images listed in a meta_info file, and one validation pair."""
    root = tmp_path_factory.mktemp('dataset') / 'demo'
    write_dataset(root, sample_bgr, count=4)
    return root


@pytest.fixture(autouse=True)
def fresh_basicsr_logger(monkeypatch) -> None:
    """BasicSR sets its logger up once per process: undo that around each in-process run (and no traceback env)."""
    monkeypatch.delenv(TRACEBACK_ENV, raising=False)

    def reset() -> None:
        logger = logging.getLogger('basicsr')
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(logging.NOTSET)
        basicsr_logger.initialized_logger.pop('basicsr', None)

    reset()
    yield
    reset()


def options(dataset: Path, total_iter: int = 2) -> Dict[str, Any]:
    """The demo RealESRNet options, shrunk to a tiny network and ``dataset``."""
    return tiny_demo_options('demo_realesrnet_x4plus', NAME, dataset, total_iter=total_iter)


def train(monkeypatch, capsys, root: Path, *args: Any) -> Tuple[int, List[str]]:
    """Run ``realesrgan/train.py ARGS`` in this process with ``root`` as root path; the status and stderr lines."""
    monkeypatch.setattr(sys, 'argv', ['realesrgan/train.py', *map(str, args)])
    status = train_script.main(str(root))
    return status, capsys.readouterr().err.splitlines()


def write_options(path: Path, opt: Dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(opt))
    return path


def changed(change: Callable[[Dict[str, Any]], Any]) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    def apply(opt: Dict[str, Any]) -> Dict[str, Any]:
        change(opt)
        return opt

    return apply


# (options file text, or a change to the good options) -> extra arguments -> what the one line must say
BEFORE_TRAINING = {
    'yaml syntax': ('name: x\ntrain:\n  total_iter: [1\n', [], ['opt.yml line 4', 'YAML syntax error']),
    'empty yaml': ('', [], ['opt.yml" is empty']),
    'yaml list': ('- name\n', [], ['holds a list']),
    'total_iter typo': (
        changed(lambda opt: opt['train'].update(total_iter='1e5x')),
        [],
        ["train.total_iter is '1e5x', not a whole number"],
    ),
    'network_g missing': (changed(lambda opt: opt.pop('network_g')), [], ['network_g is missing']),
    'network_g misspelt': (
        changed(lambda opt: opt.update(netwrok_g=opt.pop('network_g'))),
        [],
        ['network_g is missing (is "netwrok_g" a misspelling of it?)'],
    ),
    'architecture name': (
        changed(lambda opt: opt['network_g'].update(type='RRDBnet')),
        [],
        ['network_g.type "RRDBnet" is not a registered architecture: did you mean RRDBNet'],
    ),
    'dataset name': (
        changed(lambda opt: opt['datasets']['train'].update(type='RealESRGANDatset')),
        [],
        ['"RealESRGANDatset" is not a registered dataset: did you mean RealESRGANDataset'],
    ),
    'model name': (
        changed(lambda opt: opt.update(model_type='RealESRNetModle')),
        [],
        ['model_type "RealESRNetModle" is not a registered model: did you mean RealESRNetModel'],
    ),
    'network argument': (
        changed(lambda opt: opt['network_g'].update(num_blocks=2)),
        [],
        ['network_g.num_blocks is not an argument of RRDBNet (did you mean num_block?)'],
    ),
    'network scale': (
        changed(lambda opt: opt.update(scale=2)),
        [],
        ['network_g.scale is 4 (the RRDBNet default) but the top-level scale is 2'],
    ),
    'force_yml without =': (
        changed(lambda opt: None),
        ['--force_yml', 'train:total_iter60'],
        ['--force_yml "train:total_iter60" needs exactly one "="'],
    ),
    'force_yml section': (
        changed(lambda opt: None),
        ['--force_yml', 'trian:total_iter=6'],
        ['has no section trian (did you mean train?)'],
    ),
}


@pytest.mark.parametrize('case', sorted(BEFORE_TRAINING))
def test_bad_options_give_one_line_and_exit_2(tmp_path, monkeypatch, capsys, dataset, case):
    content, extra, expected = BEFORE_TRAINING[case]
    text = content if isinstance(content, str) else yaml.safe_dump(content(options(dataset)))
    (tmp_path / 'opt.yml').write_text(text)
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', tmp_path / 'opt.yml', *extra)
    assert status == EXIT_NOT_STARTED and len(err) == 1, err
    assert err[0].startswith('error: ') and all(part in err[0] for part in expected), err[0]
    assert not (tmp_path / 'experiments').exists()


def test_missing_options_file(tmp_path, monkeypatch, capsys):
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', tmp_path / 'nothere.yml')
    assert status == EXIT_NOT_STARTED and len(err) == 1
    assert 'nothere.yml" does not exist' in err[0] and 'options/demo_realesrnet_x4plus.yml' in err[0]


@pytest.mark.parametrize('how', ['environment', '--debug'])
def test_traceback_on_request(tmp_path, monkeypatch, capsys, how):
    if how == 'environment':
        monkeypatch.setenv(TRACEBACK_ENV, '1')
    extra = ['--debug'] if how == '--debug' else []
    (tmp_path / 'opt.yml').write_text('')
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', tmp_path / 'opt.yml', *extra)
    assert status == EXIT_NOT_STARTED and err[0] == 'Traceback (most recent call last):'
    assert err[-1].startswith('error: ') and 'is empty' in err[-1]


def test_missing_listed_file_removes_the_new_experiment_folder(tmp_path, monkeypatch, capsys, dataset):
    opt = options(dataset)
    meta_info = tmp_path / 'meta_info.txt'
    meta_info.write_text('hr/img_0.png\nhr/ghost.png\n')
    opt['datasets']['train']['meta_info'] = str(meta_info)
    opt['datasets']['train']['kernel_prb'] = opt['datasets']['train'].pop('kernel_prob')  # a typo: warned about
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt))
    assert status == EXIT_NOT_STARTED and not any('Traceback' in line for line in err)
    assert err[-1].startswith('error: building the train dataset "demo" (RealESRGANDataset): meta_info file')
    assert 'hr/ghost.png' in err[-1] and 'nothing was trained' in err[-1]
    assert any(
        line.startswith('warning: ') and 'unknown key datasets.train.kernel_prb (did you mean kernel_prob' in line
        for line in err
    )
    assert not (tmp_path / 'experiments').exists()  # nor experiments/ itself, which this run had made


def test_failed_rerun_restores_the_archived_folder(tmp_path, monkeypatch, capsys, dataset):
    previous = tmp_path / 'experiments' / NAME
    previous.mkdir(parents=True)
    (previous / 'net_g_1000.pth').write_text('the last run')
    opt = options(dataset)
    opt['datasets']['train']['meta_info'] = str(tmp_path / 'gone.txt')
    opt['logger']['use_tb_logger'] = True  # tb_logger/<name> is made too (then removed)
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt))
    assert status == EXIT_NOT_STARTED and err[-1].startswith('error: ')
    assert sorted(path.name for path in (tmp_path / 'experiments').iterdir()) == [NAME]
    assert [path.name for path in previous.iterdir()] == ['net_g_1000.pth']
    assert not (tmp_path / 'tb_logger').exists()


def sampler_order(count: int) -> List[int]:
    """The order in which BasicSR's EnlargedSampler gives ``count`` images in epoch 0 (one process)."""
    return torch.randperm(count, generator=torch.Generator().manual_seed(0)).tolist()


def test_corrupt_image_after_the_first_iteration_keeps_the_run(tmp_path, monkeypatch, capsys, dataset):
    data = tmp_path / 'demo'
    shutil.copytree(dataset, data)
    corrupt = data / 'hr' / f'img_{sampler_order(4)[1]}.png'  # the one read for the second iteration
    corrupt.write_bytes(corrupt.read_bytes()[:100])
    opt = tiny_demo_options('demo_realesrnet_x4plus', NAME, data, total_iter=4)
    opt['datasets']['train']['batch_size_per_gpu'] = 1
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt))
    assert status == EXIT_STOPPED and not any('Traceback' in line for line in err)
    assert err[-1].startswith('error: training stopped after training iteration 1: Cannot decode image')
    assert f'"{corrupt}"' in err[-1] and '--auto_resume' in err[-1]
    assert list((tmp_path / 'experiments' / NAME).glob('train_*.log'))  # kept: training had started


def test_corrupt_image_in_a_loader_worker(tmp_path, monkeypatch, capsys, dataset):
    data = tmp_path / 'demo'
    shutil.copytree(dataset, data)
    (data / 'hr' / 'img_2.png').write_bytes(b'not a png')
    opt = tiny_demo_options('demo_realesrnet_x4plus', NAME, data, total_iter=4)
    opt['datasets']['train'].update(batch_size_per_gpu=4, num_worker_per_gpu=1)  # the first batch holds it
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt))
    assert status == EXIT_NOT_STARTED and not any('Traceback' in line for line in err)
    assert err[-1].startswith('error: reading the first training batch: Cannot decode image')
    assert 'hr/img_2.png" (9 bytes)' in err[-1]
    assert not (tmp_path / 'experiments').exists()


def test_paired_data_with_mismatched_sizes(tmp_path, monkeypatch, capsys, dataset):
    for folder, size in (('gt', 64), ('lq', 20)):
        (tmp_path / 'pairs' / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'pairs' / folder / 'pair.png'), np.full((size, size, 3), 99, np.uint8))
    opt = options(dataset)
    opt['high_order_degradation'] = False
    opt['datasets']['train'] = {
        'name': 'pairs',
        'type': 'RealESRGANPairedDataset',
        'dataroot_gt': str(tmp_path / 'pairs' / 'gt'),
        'dataroot_lq': str(tmp_path / 'pairs' / 'lq'),
        'io_backend': {'type': 'disk'},
        'gt_size': 32,
        'use_hflip': True,
        'use_rot': False,
        'use_shuffle': True,
        'num_worker_per_gpu': 0,
        'batch_size_per_gpu': 1,
        'dataset_enlarge_ratio': 1,
        'prefetch_mode': None,
    }
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt))
    assert status == EXIT_NOT_STARTED and not any('Traceback' in line for line in err)
    assert 'Scale mismatches: GT "' in err[-1] and 'gt/pair.png" is 64x64 (HxW) but LQ "' in err[-1]
    assert 'lq/pair.png" is 20x20' in err[-1]


def test_help_is_basicsrs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['realesrgan/train.py', '-h'])
    with pytest.raises(SystemExit) as exit_info:
        train_script.main(str(tmp_path))
    assert exit_info.value.code == 0 and '--force_yml' in capsys.readouterr().out


@pytest.mark.subprocess
def test_script_prints_one_line_and_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'realesrgan' / 'train.py'), '-opt', 'missing.yml'],
        cwd=tmp_path,
        env=single_thread_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith('error: options file "missing.yml" does not exist')
