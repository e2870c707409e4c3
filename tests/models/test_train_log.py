"""The training log of realesrgan/train.py: validation at the iteration trained, no network printout unless --debug."""

import re
from pathlib import Path

from test_train_errors import NAME, dataset, fresh_basicsr_logger, options, train, write_options  # noqa: F401


def read_log(experiment: Path) -> str:
    (log_file,) = experiment.glob('train_*.log')
    return log_file.read_text()


def test_validation_names_the_last_trained_iteration_once(tmp_path, monkeypatch, capsys, dataset):  # noqa: F811
    # 4 images, batch 2: 2 iterations per epoch, so BasicSR's loop ends at iteration 5 after total_iter 3
    opt = options(dataset, total_iter=3)
    opt['val']['val_freq'] = 3
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt))
    assert status == 0, err[-20:]
    log = read_log(tmp_path / 'experiments' / NAME)
    # one line per metric (the demo configs measure PSNR and SSIM); was: 3, then 5 from the final validation
    assert re.findall(r'# (\w+): [\d.]+\s+Best: [\d.]+ @ (\d+) iter', log) == [('psnr', '3'), ('ssim', '3')]
    assert 'Validation demo_val of iteration 3 already done; not repeated.' in log
    assert len(re.findall(r'iter:\s+\d+, lr:.*l_pix: ', log)) == 3  # the loss lines stay


def run_one_iteration(tmp_path, monkeypatch, capsys, data, *extra):
    """Train one iteration without validation; stderr lines."""
    opt = options(data, total_iter=1)
    del opt['val'], opt['datasets']['val']
    status, err = train(monkeypatch, capsys, tmp_path, '-opt', write_options(tmp_path / 'opt.yml', opt), *extra)
    assert status == 0, err[-20:]
    return err


def test_network_summary_but_no_structure(tmp_path, monkeypatch, capsys, dataset):  # noqa: F811
    err = run_one_iteration(tmp_path, monkeypatch, capsys, dataset)
    log = read_log(tmp_path / 'experiments' / NAME)
    assert 'INFO: Network: RRDBNet, with parameters: 14,083 (structure in the log file with --debug)' in log
    assert '(conv_first)' not in log and not any('(conv_first)' in line for line in err)
    assert len(log.splitlines()) < 200  # was 233: the options (about 150 lines) are the bulk now


def test_debug_writes_the_structure_to_the_log_file_only(tmp_path, monkeypatch, capsys, dataset):  # noqa: F811
    err = run_one_iteration(tmp_path, monkeypatch, capsys, dataset, '--debug')
    log = read_log(tmp_path / 'experiments' / f'debug_{NAME}')  # BasicSR's debug mode renames the experiment
    assert 'DEBUG: Structure of RRDBNet:\nRRDBNet(\n  (conv_first): Conv2d(3, 8' in log
    assert not any('(conv_first)' in line for line in err)
