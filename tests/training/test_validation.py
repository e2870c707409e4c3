"""Validation in training: val.metrics checked before training, pairs degraded once, PSNR/SSIM to TensorBoard."""

import copy
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import cv2
import numpy as np
import pytest
import torch
import yaml
from helpers import INPUTS, REPO_ROOT
from training_helpers import load_options, single_thread_env, tiny_demo_options, write_dataset

from realesrgan.data.realesrgan_dataset import RealESRGANDataset
from realesrgan.metrics import lpips as lpips_module
from realesrgan.metrics import psnr, ssim
from realesrgan.models.degradation_pipeline import DegradationSettings, SecondOrderDegradation
from realesrgan.training import config_checks
from realesrgan.training.option_checks import OptionsError, check_training_options
from realesrgan.training.run import TrainingError, run_training
from realesrgan.training.validation_pairs import image_seed, make_validation_pairs


def demo_with(metrics: Dict[str, Any], **logger: Any) -> Dict[str, Any]:
    opt = load_options('demo_realesrnet_x4plus')
    opt['val']['metrics'] = metrics
    opt['logger'].update(logger)
    return opt


def check_fails(opt: Dict[str, Any]) -> str:
    with pytest.raises(OptionsError) as error:
        check_training_options(opt, 'demo.yml')
    return str(error.value)


def test_the_demo_configs_validate_psnr_and_ssim_into_tensorboard():
    for name in ('demo_realesrnet_x4plus', 'demo_realesrgan_x4plus'):
        opt = load_options(name)
        assert {entry['type'] for entry in opt['val']['metrics'].values()} == {'calculate_psnr', 'calculate_ssim'}
        assert opt['logger']['use_tb_logger'] is True
        assert check_training_options(opt, name) == []


def test_bad_metric_entries_fail_before_training_with_the_valid_names():
    message = check_fails(demo_with({'psnr': {'type': 'calculate_psnrr', 'crop_border': 4}}))
    assert message.startswith("demo.yml: val.metrics.psnr.type is 'calculate_psnrr', which is not a metric")
    for name in ('calculate_lpips', 'calculate_niqe', 'calculate_psnr', 'calculate_pyiqa', 'calculate_ssim'):
        assert name in message
    message = check_fails(demo_with({'psnr': {'type': 'calculate_psnr'}}))
    assert (
        "val.metrics.psnr cannot be computed by calculate_psnr: missing a required argument: 'crop_border'" in message
    )
    message = check_fails(demo_with({'niqe': {'type': 'calculate_niqe', 'crop_border': 0, 'better': 'less'}}))
    assert 'val.metrics.niqe.better is' in message and 'higher or lower' in message
    assert 'must be a section' in check_fails(demo_with({'psnr': 'calculate_psnr'}))
    message = check_fails(demo_with({'q': {'type': 'calculate_pyiqa', 'metric': 'no_such_metric'}}))
    assert 'val.metrics.q' in message and ('musiq' in message or 'pip install pyiqa' in message)


def test_lpips_without_its_backbone_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setenv('REALESRGAN_WEIGHTS', str(tmp_path / 'weights'))
    lpips_module.load_lpips.cache_clear()

    def offline(url: str, folder: str, **_options: Any) -> str:
        raise OSError('no network')

    monkeypatch.setattr('realesrgan.zoo.downloads.download_weights', offline)
    try:
        message = check_fails(demo_with({'lpips': {'type': 'calculate_lpips', 'net': 'alex'}}))
    finally:
        lpips_module.load_lpips.cache_clear()
    assert 'val.metrics.lpips' in message and 'alexnet-owt-7be5be79.pth' in message
    assert str(tmp_path / 'hub' / 'checkpoints') in message


def test_niqe_on_validation_images_too_small_fails_before_training(tmp_path):
    (tmp_path / 'lq').mkdir()
    cv2.imwrite(str(tmp_path / 'lq' / 'small.png'), np.zeros((32, 48, 3), np.uint8))
    opt = demo_with({'niqe': {'type': 'calculate_niqe', 'crop_border': 4, 'better': 'lower'}})
    opt['datasets']['val'].update(dataroot_lq=str(tmp_path / 'lq'), dataroot_gt=str(tmp_path / 'lq'))
    message = check_fails(opt)
    assert 'val.metrics.niqe cannot measure the outputs of datasets.val' in message
    assert 'this one is 184x120 after crop_border 4 (1 block)' in message and 'small.png' in message
    cv2.imwrite(str(tmp_path / 'lq' / 'small.png'), np.zeros((32, 56, 3), np.uint8))  # 224x128: two blocks
    assert check_training_options(opt, 'demo.yml') == []


def test_tensorboard_logger_without_tensorboard_fails_before_training(monkeypatch):
    opt = demo_with({})
    monkeypatch.setattr(config_checks.importlib.util, 'find_spec', lambda name: None)
    message = check_fails(opt)
    assert 'logger.use_tb_logger is true, but the tensorboard package is not installed' in message
    opt['logger']['use_tb_logger'] = False
    assert check_training_options(opt, 'demo.yml') == []


def test_a_run_with_a_bad_metric_stops_before_making_anything(tmp_path, sample_bgr):
    dataset = tmp_path / 'demo'
    write_dataset(dataset, sample_bgr, count=2)
    opt = tiny_demo_options('demo_realesrnet_x4plus', 'bad_metric', dataset, total_iter=2)
    opt['val']['metrics']['ssim']['type'] = 'calculate_ssimm'
    options_file = tmp_path / 'options.yml'
    options_file.write_text(yaml.safe_dump(opt))
    with pytest.raises(TrainingError) as error:
        run_training(str(tmp_path), ['-opt', str(options_file)])
    assert error.value.exit_status == 2 and 'calculate_ssim' in str(error.value)
    assert not (tmp_path / 'experiments').exists() and not (tmp_path / 'tb_logger').exists()


# ---------------------------------------------------------------- validation pairs made once by the degradation
def test_validation_pairs_are_the_degradation_of_each_gt_with_its_seed(tmp_path):
    opt = load_options('demo_realesrnet_x4plus')
    summary = make_validation_pairs(opt, str(INPUTS), str(tmp_path / 'a'), seed=3, progress=False)
    assert summary.written == ['astronaut', 'camera_gray', 'chelsea', 'coffee_rgba'] and not summary.skipped
    gt = cv2.imread(str(tmp_path / 'a' / 'gt' / 'chelsea.png'), cv2.IMREAD_UNCHANGED)
    source = cv2.imread(str(INPUTS / 'chelsea.jpg'))
    np.testing.assert_array_equal(gt, source[:100, :148])  # cropped to multiples of 4
    assert cv2.imread(str(tmp_path / 'a' / 'gt' / 'camera_gray.png'), cv2.IMREAD_UNCHANGED).shape == (96, 96, 3)
    # the LQ is the pipeline's output for that image's seed and kernels, drawn as the training dataset draws them
    seed = image_seed(3, 'chelsea')
    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
    dataset = RealESRGANDataset(dict(opt['datasets']['train'], dataroot_gt=str(INPUTS), meta_info=None))
    kernels = dataset.draw_kernels()
    tensor = torch.from_numpy(np.ascontiguousarray(gt[..., ::-1].transpose(2, 0, 1)) / 255.0).float()[None]
    pipeline = SecondOrderDegradation(DegradationSettings.from_options(opt), torch.device('cpu'))
    lq = pipeline.degrade(tensor, *(kernels[k][None] for k in ('kernel1', 'kernel2', 'sinc_kernel')), sharpen=False).lq
    expected = (lq[0].numpy().transpose(1, 2, 0)[..., ::-1] * 255).round().astype(np.uint8)
    written = cv2.imread(str(tmp_path / 'a' / 'lq' / 'chelsea.png'))
    np.testing.assert_array_equal(written, expected)
    assert written.shape == (25, 37, 3) and 8 < psnr(cv2.resize(written, (148, 100)), gt) < 35

    # same seed: the same files, whichever other images are in the folder; another seed: another LQ
    (tmp_path / 'one').mkdir()
    cv2.imwrite(str(tmp_path / 'one' / 'chelsea.png'), source)
    make_validation_pairs(opt, str(tmp_path / 'one'), str(tmp_path / 'b'), seed=3, progress=False)
    assert (tmp_path / 'b' / 'lq' / 'chelsea.png').read_bytes() == (tmp_path / 'a' / 'lq' / 'chelsea.png').read_bytes()
    make_validation_pairs(opt, str(tmp_path / 'one'), str(tmp_path / 'c'), seed=4, progress=False)
    assert not np.array_equal(cv2.imread(str(tmp_path / 'c' / 'lq' / 'chelsea.png')), written)


def test_validation_pairs_skip_bad_images_and_refuse_a_used_folder(tmp_path):
    opt = load_options('demo_realesrnet_x4plus')
    (tmp_path / 'gt').mkdir()
    cv2.imwrite(str(tmp_path / 'gt' / 'good.png'), cv2.imread(str(INPUTS / 'astronaut.png')))
    cv2.imwrite(str(tmp_path / 'gt' / 'tiny.png'), np.zeros((40, 40, 3), np.uint8))
    (tmp_path / 'gt' / 'broken.png').write_bytes(b'garbage')
    summary = make_validation_pairs(opt, str(tmp_path / 'gt'), str(tmp_path / 'out'), progress=False)
    assert summary.written == ['good']
    reasons = {Path(path).name: reason for path, reason in summary.skipped}
    assert 'Cannot decode' in reasons['broken.png'] and 'too small for the degradation' in reasons['tiny.png']
    with pytest.raises(FileExistsError, match='already holds files'):
        make_validation_pairs(opt, str(tmp_path / 'gt'), str(tmp_path / 'out'), progress=False)


# ---------------------------------------------------------------- a demo run, read back from its files
TRAIN = 'import sys; from realesrgan.train import main; sys.exit(main(sys.argv.pop(1)))'


def logged_validations(log: str, metric: str) -> Dict[int, float]:
    """Iteration -> value of the validation lines BasicSR logs (``# psnr: 12.3456 Best: ...``)."""
    values, iteration = {}, None
    for line in log.splitlines():
        match = re.search(r'\[epoch:\s*\d+, iter:\s*([\d,]+),', line)
        if match:
            iteration = int(match.group(1).replace(',', ''))
        match = re.search(rf'# {metric}: ([\d.]+)', line)
        if match and iteration is not None:
            values[iteration] = float(match.group(1))
    return values


@pytest.mark.slow
@pytest.mark.subprocess
def test_demo_run_logs_validation_to_the_log_and_to_tensorboard(tmp_path, sample_bgr):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    dataset = tmp_path / 'demo'
    write_dataset(dataset, sample_bgr, count=4)
    opt = tiny_demo_options('demo_realesrnet_x4plus', 'tb_demo', dataset, total_iter=4)
    # validate on inputs/ degraded once by the config's own pipeline
    pairs = tmp_path / 'val_pairs'
    make_validation_pairs(copy.deepcopy(opt), str(INPUTS), str(pairs), seed=0, progress=False)
    opt['datasets']['val'].update(name='degraded', dataroot_gt=str(pairs / 'gt'), dataroot_lq=str(pairs / 'lq'))
    opt['val'].update(val_freq=2, save_img=True)
    options_file = tmp_path / 'options.yml'
    options_file.write_text(yaml.safe_dump(opt))
    command = [sys.executable, '-c', TRAIN, str(tmp_path), '-opt', str(options_file)]
    run = subprocess.run(command, cwd=REPO_ROOT, env=single_thread_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    experiment = tmp_path / 'experiments' / 'tb_demo'
    log = next(experiment.glob('train_tb_demo_*.log')).read_text()
    events = EventAccumulator(str(tmp_path / 'tb_logger' / 'tb_demo'))
    events.Reload()
    for metric, measure in (('psnr', psnr), ('ssim', ssim)):
        logged = logged_validations(log, metric)
        scalars = {event.step: event.value for event in events.Scalars(f'metrics/degraded/{metric}')}
        assert sorted(logged) == sorted(scalars) == [2, 4]
        for step, value in scalars.items():
            assert value == pytest.approx(logged[step], abs=1e-4)
            # and both are the metric of the saved outputs against the GT, averaged over the images
            direct = []
            for gt_path in sorted((pairs / 'gt').iterdir()):
                out = cv2.imread(str(experiment / 'visualization' / gt_path.stem / f'{gt_path.stem}_{step}.png'))
                direct.append(measure(cv2.imread(str(gt_path)), out, crop_border=4))
            assert value == pytest.approx(np.mean(direct), abs=1e-4)
    assert 'losses/l_pix' in events.Tags()['scalars']
