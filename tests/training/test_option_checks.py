"""The option checks of realesrgan/training/option_checks.py: unknown keys, and the key lists against what is read."""

from pathlib import Path
from typing import Any, Dict

import cv2
import numpy as np
import pytest
import yaml
from training_helpers import gt_batch, synthetic_batch, tiny_opt, write_dataset

from realesrgan.data.realesrgan_dataset import RealESRGANDataset
from realesrgan.data.realesrgan_paired_dataset import RealESRGANPairedDataset
from realesrgan.models.degradation_pipeline import DegradationSettings
from realesrgan.models.realesrgan_model import RealESRGANModel
from realesrgan.models.realesrnet_model import RealESRNetModel
from realesrgan.training.option_checks import (
    DATASET_OPTION_KEYS,
    MODEL_OPTION_KEYS,
    OptionsError,
    apply_force_yml,
    check_training_options,
    unknown_key_warnings,
)

OPTIONS = Path(__file__).resolve().parents[2] / 'options'


class RecordingDict(dict):
    """A dict that notes every key read from it (``[]``, ``get``, ``in``, ``pop``, ``setdefault``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read = set()

    def __getitem__(self, key: Any) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: Any) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self.read.add(key)
        return super().pop(key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().setdefault(key, default)


def load(name: str) -> Dict[str, Any]:
    return yaml.safe_load((OPTIONS / name).read_text())


def without_pretrained_weights(opt: Dict[str, Any]) -> Dict[str, Any]:
    """The options with every path.pretrain_network_* unset (those files are not on test machines)."""
    for key in opt['path']:
        if key.startswith('pretrain_network'):
            opt['path'][key] = None
    return opt


@pytest.mark.parametrize('name', sorted(path.name for path in OPTIONS.glob('*.yml')))
def test_every_shipped_options_file_passes_without_warnings(name):
    assert check_training_options(without_pretrained_weights(load(name)), name) == []


def test_unknown_keys_are_warned_about_with_the_closest_valid_name():
    opt = load('demo_realesrgan_x4plus.yml')
    opt['datasets']['train']['kernel_prb'] = opt['datasets']['train'].pop('kernel_prob')
    opt['resize_rang2'] = opt.pop('resize_range2')
    opt['train']['total_iters'] = 10
    opt['path']['pretrain_netowrk_g'] = None
    opt['logger']['print_frequency'] = 1
    warnings = check_training_options(opt, 'x.yml')
    expected = {
        'datasets.train.kernel_prb': 'kernel_prob',
        'resize_rang2': 'resize_range2',
        'train.total_iters': 'total_iter',
        'path.pretrain_netowrk_g': 'pretrain_network_g',
        'logger.print_frequency': 'print_freq',
    }
    assert len(warnings) == len(expected)
    for key, closest in expected.items():
        line = next(line for line in warnings if f'unknown key {key} ' in line)
        assert line.startswith('x.yml: ') and f'(did you mean {closest}' in line and 'ignores it' in line


def test_keys_of_other_models_and_datasets_are_not_judged():
    opt = load('demo_realesrnet_x4plus.yml')
    opt['model_type'] = 'SRModel'  # BasicSR's: its own keys are not listed here
    opt['my_key'] = 1
    opt['datasets']['val']['my_key'] = 1  # PairedImageDataset: BasicSR's
    assert unknown_key_warnings(opt) == []
    opt['model_type'] = 'RealESRNetModel'
    assert [line.split(';')[0] for line in unknown_key_warnings(opt, 'x.yml')] == ['x.yml: unknown key my_key']


def test_gan_keys_are_unknown_to_the_psnr_model():
    opt = load('demo_realesrnet_x4plus.yml')
    opt['gan_gt_usm'] = False
    assert any(
        'unknown key gan_gt_usm' in line and 'RealESRNetModel ignores it' in line for line in unknown_key_warnings(opt)
    )


def test_force_yml_sets_values_as_basicsr_does():
    opt = load('demo_realesrnet_x4plus.yml')
    forced = apply_force_yml(opt, ['train:total_iter=60', 'val:save_img=true', 'train:scheduler:milestones=[3, 6]'])
    assert forced == {'train.total_iter', 'val.save_img', 'train.scheduler.milestones'}
    assert opt['train']['total_iter'] == 60 and opt['val']['save_img'] is True
    assert opt['train']['scheduler']['milestones'] == [3, 6]
    with pytest.raises(OptionsError, match=r'^--force_yml "val:save_img=yes=no" needs exactly one "="'):
        apply_force_yml(opt, ['val:save_img=yes=no'])


def test_errors_in_forced_values_name_the_flag():
    opt = load('demo_realesrnet_x4plus.yml')
    forced = apply_force_yml(opt, ['train:total_iter=6o'])
    with pytest.raises(OptionsError, match=r"^--force_yml: train.total_iter is '6o', not a whole number"):
        check_training_options(opt, 'demo.yml', forced)


def test_yaml_floats_without_a_dot_are_explained():
    opt = load('demo_realesrnet_x4plus.yml')
    opt['train']['total_iter'] = '4e5'  # what YAML 1.1 makes of "total_iter: 4e5"
    with pytest.raises(OptionsError, match=r'YAML reads 4e5 as text: write !!float 4e5'):
        check_training_options(opt, 'demo.yml')


# ------------------------------------------------------------ the key lists hold every key the classes read
def test_realesrgan_dataset_reads_only_listed_keys(tmp_path, sample_bgr):
    write_dataset(tmp_path, sample_bgr, count=1)
    opt = RecordingDict(
        load('demo_realesrnet_x4plus.yml')['datasets']['train'],
        phase='train',
        scale=4,
        dataroot_gt=str(tmp_path),
        meta_info=str(tmp_path / 'meta_info' / 'meta_info_demo.txt'),
    )
    RealESRGANDataset(opt)[0]
    assert opt.read and opt.read <= DATASET_OPTION_KEYS['RealESRGANDataset']


def test_paired_dataset_reads_only_listed_keys(tmp_path):
    for folder, size in (('gt', 64), ('lq', 16)):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / '0.png'), np.full((size, size, 3), 128, np.uint8))
    (tmp_path / 'meta.txt').write_text('0.png, 0.png\n')
    opt = RecordingDict(
        load('finetune_realesrgan_x4plus_pairdata.yml')['datasets']['train'],
        phase='train',
        scale=4,
        gt_size=32,
        dataroot_gt=str(tmp_path / 'gt'),
        dataroot_lq=str(tmp_path / 'lq'),
        meta_info=str(tmp_path / 'meta.txt'),
    )
    RealESRGANPairedDataset(opt)[0]
    assert opt.read and opt.read <= DATASET_OPTION_KEYS['RealESRGANPairedDataset']


def test_degradation_reads_only_listed_keys():
    opt = RecordingDict(load('demo_realesrnet_x4plus.yml'))
    DegradationSettings.from_options(opt)
    assert opt.read and opt.read <= MODEL_OPTION_KEYS['RealESRNetModel']['']


# SRGANModel builds a loss from train.ldl_opt, but RealESRGANModel's optimize_parameters never uses it: reported
READ_BUT_IGNORED = {'RealESRNetModel': set(), 'RealESRGANModel': {'ldl_opt'}}


@pytest.mark.parametrize('model_class', [RealESRNetModel, RealESRGANModel])
def test_models_read_only_listed_keys(tmp_path, sample_bgr, model_class):
    opt = tiny_opt(model_class.__name__, tmp_path)
    opt = RecordingDict(opt, train=RecordingDict(opt['train']), path=RecordingDict(opt['path']))
    model = model_class(opt)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))
    model.optimize_parameters(1)
    valid = MODEL_OPTION_KEYS[model_class.__name__]
    for section, recorded in (('', opt), ('train', opt['train']), ('path', opt['path'])):
        assert recorded.read and recorded.read - READ_BUT_IGNORED[model_class.__name__] <= valid[section], section
