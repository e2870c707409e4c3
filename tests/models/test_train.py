"""Training end to end: the configs, resuming, ``realesrgan/train.py`` as a script, and 2-process CPU training."""

import copy
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import basicsr.train
import pytest
import torch
import yaml
from basicsr.models import build_model
from basicsr.utils import set_random_seed
from training_helpers import (
    REPO_ROOT,
    gt_batch,
    load_options,
    single_thread_env,
    synthetic_batch,
    tiny_demo_options,
    tiny_opt,
    weights,
    write_dataset,
)

# facts of the original release (config: model type, scale, generator lr, iterations, init weights, strict)
OFFICIAL = {
    'train_realesrnet_x4plus': ('RealESRNetModel', 4, 2e-4, 1000000, 'ESRGAN_SRx4_DF2KOST_official-ff704c30.pth', True),
    'train_realesrnet_x2plus': ('RealESRNetModel', 2, 2e-4, 1000000, 'RealESRGAN_x4plus.pth', False),
    'train_realesrgan_x4plus': ('RealESRGANModel', 4, 1e-4, 400000, 'RealESRNet_x4plus.pth', True),
    'train_realesrgan_x2plus': ('RealESRGANModel', 2, 1e-4, 400000, 'RealESRNet_x2plus.pth', True),
    'finetune_realesrgan_x4plus': ('RealESRGANModel', 4, 1e-4, 400000, 'RealESRGAN_x4plus.pth', True),
    'finetune_realesrgan_x4plus_pairdata': ('RealESRGANModel', 4, 1e-4, 400000, 'RealESRGAN_x4plus.pth', True),
}


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_official_configs_carry_the_published_settings(name):
    model_type, scale, lr, iters, init_weights, strict = OFFICIAL[name]
    opt = load_options(name)
    train, data = opt['train'], opt['datasets']['train']
    assert (opt['model_type'], opt['scale'], train['optim_g']['lr'], train['total_iter']) == (
        model_type,
        scale,
        lr,
        iters,
    )
    assert opt['path']['pretrain_network_g'] == f'experiments/pretrained_models/{init_weights}'
    assert opt['path']['strict_load_g'] is strict and opt['path']['param_key_g'] == 'params_ema'
    assert (
        opt['manual_seed'] == 0
        and opt['num_gpu'] == 'auto'
        and opt['dist_params'] == {'backend': 'nccl', 'port': 29500}
    )
    assert (data['batch_size_per_gpu'], data['num_worker_per_gpu'], data['gt_size']) == (12, 5, 256)
    assert data['use_hflip'] is True and data['use_rot'] is False
    assert train['ema_decay'] == 0.999 and train['optim_g']['betas'] == [0.9, 0.99]
    assert train['scheduler'] == {'type': 'MultiStepLR', 'milestones': [iters], 'gamma': 0.5}
    assert train['pixel_opt'] == {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}
    assert opt['logger']['save_checkpoint_freq'] == 5000 and opt['logger']['print_freq'] == 100
    assert opt['network_g'] == dict(
        {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 64, 'num_block': 23, 'num_grow_ch': 32},
        **({'scale': 2} if scale == 2 else {}),
    )
    if name.endswith('pairdata'):
        assert opt['high_order_degradation'] is False and data['type'] == 'RealESRGANPairedDataset'
        assert data['meta_info'].endswith('meta_info_DIV2K_sub_pair.txt') and 'resize_prob' not in opt
    else:
        assert data['type'] == 'RealESRGANDataset' and opt['queue_size'] == 180 and opt['gt_size'] == 256
        assert data['meta_info'] == 'datasets/DF2K/meta_info/meta_info_DF2Kmultiscale+OST_sub.txt'
        assert data['final_sinc_prob'] == 0.8 and data['blur_sigma'] == [0.2, 3] and data['blur_sigma2'] == [0.2, 1.5]
    if model_type == 'RealESRNetModel':
        assert opt['gt_usm'] is True
        return
    assert (opt['l1_gt_usm'], opt['percep_gt_usm'], opt['gan_gt_usm']) == (True, True, False)
    assert opt['network_d'] == {'type': 'UNetDiscriminatorSN', 'num_in_ch': 3, 'num_feat': 64, 'skip_connection': True}
    assert train['optim_d']['lr'] == 1e-4 and (train['net_d_iters'], train['net_d_init_iters']) == (1, 0)
    assert train['perceptual_opt']['layer_weights'] == {
        'conv1_2': 0.1,
        'conv2_2': 0.1,
        'conv3_4': 1,
        'conv4_4': 1,
        'conv5_4': 1,
    }
    assert train['gan_opt'] == {
        'type': 'GANLoss',
        'gan_type': 'vanilla',
        'real_label_val': 1.0,
        'fake_label_val': 0.0,
        'loss_weight': 0.1,
    }
    if name.startswith('finetune'):
        assert opt['path']['pretrain_network_d'].endswith('RealESRGAN_x4plus_netD.pth')
        assert opt['path']['param_key_d'] == 'params'


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, sample_bgr):
    opt = tiny_opt('RealESRGANModel', tmp_path, queue_size=16, auto_resume=False)
    opt['train']['scheduler']['milestones'] = [3]  # the learning rate halves at the 4th iteration

    def train_iteration(model: Any, current_iter: int) -> Dict[str, float]:
        model.update_learning_rate(current_iter)
        set_random_seed(100 + current_iter)
        model.feed_data(synthetic_batch(gt_batch(sample_bgr, current_iter)))
        model.optimize_parameters(current_iter)
        return dict(model.get_current_log())

    uninterrupted = build_model(copy.deepcopy(opt))
    for current_iter in (1, 2, 3):
        train_iteration(uninterrupted, current_iter)
    uninterrupted.save(epoch=0, current_iter=3)
    expected_log = train_iteration(uninterrupted, 4)

    resumed_opt = copy.deepcopy(opt)
    resumed_opt['path']['resume_state'] = str(tmp_path / '3.state')
    resume_state = basicsr.train.load_resume_state(resumed_opt)  # what train_pipeline calls (made device-agnostic)
    assert resumed_opt['path']['pretrain_network_g'] == str(tmp_path / 'net_g_3.pth')
    resumed = build_model(resumed_opt)
    resumed.resume_training(resume_state)
    assert train_iteration(resumed, 4) == expected_log
    assert resumed.get_current_learning_rate() == uninterrupted.get_current_learning_rate() == [1e-3]
    for name in ('net_g', 'net_g_ema', 'net_d'):
        expected = weights(getattr(uninterrupted, name))
        for key, value in weights(getattr(resumed, name)).items():
            assert torch.equal(value, expected[key]), (name, key)


def run_quietly(command: list, cwd: Path, env: Dict[str, str], timeout: int) -> str:
    """Run a command; on failure show its output. Returns stdout and stderr together."""
    result = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-5000:]
    return result.stdout


@pytest.fixture
def experiment_name() -> Iterator[str]:
    """A unique experiment name; its folders under the repository's experiments/ and tb_logger/ are removed
    afterwards (the demo configs log to TensorBoard)."""
    name = f'pytest_{uuid.uuid4().hex[:8]}'
    yield name
    import shutil

    shutil.rmtree(REPO_ROOT / 'experiments' / name, ignore_errors=True)
    shutil.rmtree(REPO_ROOT / 'tb_logger' / name, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.subprocess
def test_train_script_trains_validates_checkpoints_and_resumes(tmp_path, sample_bgr, experiment_name):
    dataset = tmp_path / 'demo'
    write_dataset(dataset, sample_bgr, count=4)
    opt = tiny_demo_options('demo_realesrgan_x4plus', experiment_name, dataset, total_iter=2)
    options_file = tmp_path / 'options.yml'
    options_file.write_text(yaml.safe_dump(opt))
    script = [sys.executable, str(REPO_ROOT / 'realesrgan' / 'train.py'), '-opt', str(options_file)]
    # run from elsewhere: the script finds its package, and experiments/ stays under the repository root
    first = run_quietly(script, cwd=tmp_path, env=single_thread_env(), timeout=300)
    experiment = REPO_ROOT / 'experiments' / experiment_name
    assert {path.name for path in (experiment / 'models').iterdir()} == {
        'net_g_2.pth',
        'net_d_2.pth',
        'net_g_latest.pth',
        'net_d_latest.pth',
    }
    assert (experiment / 'training_states' / '2.state').is_file()
    assert 'Validation demo_val' in first and '# psnr:' in first

    opt['train']['total_iter'] = 4
    options_file.write_text(yaml.safe_dump(opt))
    resumed = run_quietly(script + ['--auto_resume'], cwd=tmp_path, env=single_thread_env(), timeout=300)
    assert 'Resuming training from epoch: ' in resumed and 'iter: 2.' in resumed
    assert re.search(r'iter:\s+3,', resumed) and not re.search(r'iter:\s+1,', resumed)
    assert (experiment / 'models' / 'net_g_4.pth').is_file() and (experiment / 'training_states' / '4.state').is_file()
    checkpoint = torch.load(experiment / 'models' / 'net_g_4.pth', weights_only=True)
    assert set(checkpoint) == {'params', 'params_ema'}


DRIVER = '''
import os

import torch

import realesrgan  # noqa: F401
from basicsr.utils.registry import MODEL_REGISTRY
from realesrgan.models.realesrnet_model import RealESRNetModel
from realesrgan.train import main


@MODEL_REGISTRY.register()
class RankReportingRealESRNetModel(RealESRNetModel):
    """Also saves, on every rank, the initial and final generator and the GT paths it was fed."""

    def __init__(self, opt):
        super().__init__(opt)
        self.initial = {k: v.detach().clone() for k, v in self.get_bare_model(self.net_g).state_dict().items()}
        self.fed_paths = []

    def feed_data(self, data):
        if self.is_train:
            self.fed_paths.append(list(data['gt_path']))
        super().feed_data(data)

    def save(self, epoch, current_iter):
        super().save(epoch, current_iter)
        if current_iter == -1:
            report = {'initial': self.initial, 'final': self.get_bare_model(self.net_g).state_dict(),
                      'ema': self.net_g_ema.state_dict(), 'fed_paths': self.fed_paths, 'queue_ptr': self.queue_ptr,
                      'device': str(self.device), 'world_size': self.opt['world_size']}
            torch.save(report, os.path.join(self.opt['path']['models'], f'rank{self.opt["rank"]}.pth'))


main(os.environ['TRAIN_ROOT'])
'''


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_cpu_processes_train_in_step(tmp_path, sample_bgr):
    dataset = tmp_path / 'demo'
    write_dataset(dataset, sample_bgr, count=4)
    opt = tiny_demo_options('demo_realesrnet_x4plus', 'dist', dataset, total_iter=3)
    opt['model_type'] = 'RankReportingRealESRNetModel'
    opt['datasets']['train']['batch_size_per_gpu'] = 1
    opt['queue_size'] = 2
    del opt['val'], opt['datasets']['val']
    options_file = tmp_path / 'options.yml'
    options_file.write_text(yaml.safe_dump(opt))
    driver = tmp_path / 'driver.py'
    driver.write_text(DRIVER)
    command = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--standalone',
        '--nproc_per_node=2',
        str(driver),
        '-opt',
        str(options_file),
        '--launcher',
        'pytorch',
    ]
    output = run_quietly(command, cwd=REPO_ROOT, env=dict(single_thread_env(), TRAIN_ROOT=str(tmp_path)), timeout=300)
    assert 'gloo backend' in output

    models = tmp_path / 'experiments' / 'dist' / 'models'
    reports = [torch.load(models / f'rank{rank}.pth', weights_only=True) for rank in (0, 1)]
    assert all(report['world_size'] == 2 and report['device'] == 'cpu' for report in reports)
    for key, value in reports[0]['final'].items():
        assert torch.equal(value, reports[1]['final'][key]), key
        assert torch.equal(reports[0]['ema'][key], reports[1]['ema'][key]), key
    assert any(not torch.equal(value, reports[0]['initial'][key]) for key, value in reports[0]['final'].items())
    # each rank sees its own half of every epoch (2 iterations of 1 image), and keeps its own queue
    first_epoch = [{path for batch in report['fed_paths'][:2] for path in batch} for report in reports]
    assert not first_epoch[0] & first_epoch[1]
    assert {Path(path).name for path in first_epoch[0] | first_epoch[1]} == {f'img_{index}.png' for index in range(4)}
    assert [report['queue_ptr'] for report in reports] == [2, 2]
    assert set(torch.load(models / 'net_g_latest.pth', weights_only=True)) == {'params', 'params_ema'}
