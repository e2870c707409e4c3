"""The validation watch: a warning when a metric falls from its best by more than its margin, net_g_best.pth kept
from the best validation, records that survive a resume, and one-line errors for options that cannot work."""

import logging
import types
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import torch
from basicsr.models import build_model
from training_helpers import tiny_opt

from realesrgan.models.validation_watch import RECORDS_FILE, ValidationWatch
from realesrgan.training.option_checks import OptionsError, check_training_options

METRICS = {
    'psnr': {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': False},
    'niqe': {'type': 'calculate_niqe', 'crop_border': 4, 'better': 'lower'},
}


def test_drops_beyond_the_margin_are_warned_about_with_the_numbers(tmp_path):
    watch = ValidationWatch.from_options(
        {'metrics': METRICS, 'save_best': True, 'drop_margin': {'psnr': 0.5, 'niqe': 0.25}}, str(tmp_path)
    )
    assert watch.best_metric == 'psnr'  # the first metric, when best_metric is not given
    assert watch.update('val', {'psnr': 25.0, 'niqe': 5.0}, 100) == []
    assert watch.is_best('val', 100)
    assert watch.update('val', {'psnr': 24.6, 'niqe': 5.2}, 200) == []  # within both margins
    assert not watch.is_best('val', 200)
    assert watch.update('val', {'psnr': 26.0, 'niqe': 4.0}, 300) == []
    warnings = watch.update('val', {'psnr': 25.25, 'niqe': 4.5}, 400)
    assert warnings == [
        'validation val: psnr 25.2500 at iteration 400 is 0.7500 below its best 26.0000 (iteration 300), more than '
        'drop_margin 0.5: training is making the model worse on held-out data; the best generator is kept as '
        'models/net_g_best.pth',
        'validation val: niqe 4.5000 at iteration 400 is 0.5000 above its best 4.0000 (iteration 300), more than '
        'drop_margin 0.25: training is making the model worse on held-out data; the best generator is kept as '
        'models/net_g_best.pth',
    ]
    assert watch.is_best('val', 300) and not watch.is_best('other', 300)
    assert watch.update('other', {'psnr': 20.0}, 400) == []  # each dataset has its own best
    assert 'is nan at iteration 500' in watch.update('val', {'psnr': float('nan')}, 500)[0]


def test_records_carry_the_best_over_a_resume(tmp_path):
    options = {'metrics': METRICS, 'drop_margin': {'psnr': 0.5}}
    ValidationWatch.from_options(options, str(tmp_path)).update('val', {'psnr': 26.0, 'niqe': 4.0}, 300)
    assert (tmp_path / RECORDS_FILE).is_file()
    resumed = ValidationWatch.from_options(options, str(tmp_path))
    (warning,) = resumed.update('val', {'psnr': 25.0, 'niqe': 4.0}, 400)
    assert 'below its best 26.0000 (iteration 300)' in warning and 'net_g_best' not in warning  # no save_best


@pytest.mark.parametrize(
    'change,message',
    [
        ({'drop_margin': {'lpips': 0.1}}, 'val.drop_margin.lpips names no metric of val.metrics (psnr, niqe)'),
        ({'drop_margin': {'psnr': -1}}, 'val.drop_margin.psnr is -1; it must be a number of at least 0'),
        ({'drop_margin': {'psnr': '0.5dB'}}, "val.drop_margin.psnr is '0.5dB'"),
        ({'drop_margin': 0.5}, 'val.drop_margin is 0.5; give one margin per metric'),
        ({'save_best': True, 'best_metric': 'ssim'}, "val.best_metric is 'ssim'; use one of the metrics"),
        ({'save_best': True, 'metrics': {}}, 'val.save_best needs a metric to compare validations'),
        ({'metrics': {'psnr': dict(METRICS['psnr'], better='more')}}, "val.metrics.psnr.better is 'more'"),
    ],
)
def test_options_that_cannot_work_are_one_line_errors_before_training(tmp_path, change, message):
    val = dict({'val_freq': 10, 'save_img': False, 'metrics': METRICS}, **change)
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        ValidationWatch.from_options(val, None)
    opt = tiny_opt('RealESRNetModel', tmp_path)
    opt.update(
        val=val,
        datasets={
            'train': {'name': 't', 'type': 'RealESRGANDataset', 'batch_size_per_gpu': 1, 'num_worker_per_gpu': 0}
        },
        logger={'print_freq': 1, 'save_checkpoint_freq': 1},
    )
    opt['train'].update(total_iter=10)
    with pytest.raises(OptionsError) as error:
        check_training_options(opt, 'x.yml')
    assert str(error.value).startswith('x.yml: val.') and message.split(' ', 1)[1][:20] in str(error.value)
    assert '\n' not in str(error.value)


@pytest.fixture
def basicsr_warnings() -> Iterator[List[str]]:
    """The warning lines of BasicSR's logger (it does not propagate to the root logger)."""
    lines: List[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger('basicsr')
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def test_model_warns_and_keeps_the_generator_of_the_best_validation(tmp_path, basicsr_warnings):
    opt = tiny_opt('RealESRNetModel', tmp_path)
    opt['val'] = {'val_freq': 1, 'metrics': {'psnr': METRICS['psnr']}, 'save_best': True, 'drop_margin': {'psnr': 1}}
    model = build_model(opt)
    scores = iter([24.0, 25.0, 23.5, 24.5])

    def scripted_validation(dataloader: object, current_iter: int, tb_logger: object, save_img: bool) -> None:
        model.metric_results = {'psnr': next(scores)}

    model.nondist_validation = scripted_validation
    loader = types.SimpleNamespace(dataset=types.SimpleNamespace(opt={'name': 'held_out'}))
    generators: Dict[int, Dict[str, torch.Tensor]] = {}
    for iteration in (1, 2, 3, 4):
        with torch.no_grad():
            for param in model.net_g_ema.parameters():
                param.fill_(iteration)  # weights that tell the iterations apart
        generators[iteration] = {k: v.clone() for k, v in model.net_g_ema.state_dict().items()}
        model.validation(loader, iteration, None, save_img=False)
        if iteration == 2:
            assert basicsr_warnings == []
    assert (
        len(basicsr_warnings) == 1
        and 'psnr 23.5000 at iteration 3 is 1.5000 below its best 25.0000' in (basicsr_warnings[0])
    )
    best = torch.load(Path(tmp_path) / 'net_g_best.pth', weights_only=True)
    assert set(best) == {'params', 'params_ema'}
    for key, value in generators[2].items():
        assert torch.equal(best['params_ema'][key], value), key
    assert not list(Path(tmp_path).glob('*partial*'))
