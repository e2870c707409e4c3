"""The compact (SRVGGNetCompact, v3) training configs: what they carry, and that each trains, validates and writes
checkpoints that inference loads by architecture detection. Runs realesrgan/train.py in-process, shrunk."""

from pathlib import Path
from typing import Any, Dict, List

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import vgg_arch
from helpers import official_weights
from test_models import random_vgg19_file  # noqa: F401  (fixture)
from test_train_errors import fresh_basicsr_logger, train  # noqa: F401  (fixture)
from training_helpers import load_options, write_dataset

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.cli import image as image_cli
from realesrgan.inference.model_choice import choose_model
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.zoo import save_checkpoint

pytestmark = pytest.mark.filterwarnings('ignore:.*(pretrained|weight enum).*:UserWarning')  # BasicSR's VGG19 call

# config -> (model type, body convolutions)
COMPACT = {
    'train_realesrnet_general_x4v3': ('RealESRNetModel', 32),
    'train_realesrgan_general_x4v3': ('RealESRGANModel', 32),
    'train_realesrnet_animevideov3': ('RealESRNetModel', 16),
    'train_realesrgan_animevideov3': ('RealESRGANModel', 16),
    'finetune_realesr-general-x4v3': ('RealESRGANModel', 32),
    'finetune_realesr-animevideov3': ('RealESRGANModel', 16),
}
# the x4plus config each compact config takes its recipe from
RECIPE = {'RealESRNetModel': 'train_realesrnet_x4plus', 'RealESRGANModel': 'train_realesrgan_x4plus'}


@pytest.mark.parametrize('name', sorted(COMPACT))
def test_compact_configs_keep_the_x4plus_recipe_around_the_released_network(name):
    model_type, num_conv = COMPACT[name]
    opt, recipe = load_options(name), load_options(RECIPE[model_type])
    assert opt['model_type'] == model_type and opt['scale'] == 4
    assert opt['network_g'] == {
        'type': 'SRVGGNetCompact',
        'num_in_ch': 3,
        'num_out_ch': 3,
        'num_feat': 64,
        'num_conv': num_conv,
        'upscale': 4,
        'act_type': 'prelu',
    }
    # everything but the name, the network, the starting weights and (fine-tuning) the warm-up and validation is
    # the recipe's
    assert {key for key in recipe if recipe[key] != opt[key]} <= {'name', 'network_g', 'path', 'datasets', 'train'}
    assert set(opt) - set(recipe) <= {'val'}
    assert opt['datasets']['train'] == recipe['datasets']['train']
    train_differs = {key for key in recipe['train'] if recipe['train'][key] != opt['train'][key]}
    assert train_differs == ({'net_d_init_iters'} if name.startswith('finetune') else set())
    path = opt['path']
    if name.startswith('finetune'):
        model = name[len('finetune_') :]
        assert path['pretrain_network_g'] == f'experiments/pretrained_models/{model}.pth'
        assert path['param_key_g'] == 'params' and path['pretrain_network_d'] is None
        assert opt['train']['net_d_init_iters'] == opt['val']['val_freq'] == 5000
        assert set(opt['val']['metrics']) == {'psnr', 'ssim'} and opt['val']['save_best'] is True
        assert set(opt['val']['drop_margin']) == {'psnr', 'ssim'}
        assert opt['datasets']['val']['type'] == 'PairedImageDataset'
    elif model_type == 'RealESRNetModel':
        assert path['pretrain_network_g'] is None  # no compact starting point was released
    else:
        stage_one = 'general_x4v3' if num_conv == 32 else 'animevideov3'
        assert path['pretrain_network_g'] == f'experiments/pretrained_models/RealESRNet_{stage_one}.pth'
        assert 'pretrain_network_d' not in path


@pytest.fixture(scope='module')
def dataset(tmp_path_factory, sample_bgr) -> Path:
    """Four 80x80 training images listed in a meta_info file, and one validation pair."""
    root = tmp_path_factory.mktemp('compact') / 'demo'
    write_dataset(root, sample_bgr, count=4)
    return root


def shrunk(name: str, dataset: Path, pretrained: Any = None) -> Dict[str, Any]:
    """A compact config with its real networks, on ``dataset``: 32 px patches, 2 iterations, checkpoint at 2."""
    opt = load_options(name)
    opt.update(name=name, gt_size=32, queue_size=4)
    opt['datasets']['train'].update(
        dataroot_gt=str(dataset),
        meta_info=str(dataset / 'meta_info' / 'meta_info_demo.txt'),
        crop_pad_size=80,
        gt_size=32,
        batch_size_per_gpu=2,
        num_worker_per_gpu=0,
    )
    if 'val' in opt['datasets']:
        opt['datasets']['val'].update(dataroot_gt=str(dataset / 'val' / 'gt'), dataroot_lq=str(dataset / 'val' / 'lq'))
        opt['val']['val_freq'] = 2
    opt['path']['pretrain_network_g'] = str(pretrained) if pretrained else None
    opt['train']['total_iter'] = 2
    opt['logger'].update(print_freq=1, save_checkpoint_freq=2, use_tb_logger=False)
    return opt


def run_config(monkeypatch, capsys, root: Path, opt: Dict[str, Any], vgg19: Path) -> Path:
    """Train ``opt`` with realesrgan/train.py under ``root``; its models folder."""
    monkeypatch.setattr(vgg_arch, 'VGG_PRETRAIN_PATH', str(vgg19))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', pytest.fail)
    options_file = root / f'{opt["name"]}.yml'
    options_file.write_text(yaml.safe_dump(opt))
    status, err = train(monkeypatch, capsys, root, '-opt', options_file)
    assert status == 0, err
    models = root / 'experiments' / opt['name'] / 'models'
    assert (models / 'net_g_2.pth').is_file() and (root / 'experiments' / opt['name'] / 'training_states').is_dir()
    return models


def generator(path: Path, key: str = 'params') -> Dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)[key]


def assert_loads_for_inference(checkpoint: Path, num_conv: int, image: np.ndarray, tmp_path: Path) -> None:
    """``RealESRGANer`` (by detection) and ``--model_path`` load the checkpoint and give the EMA network's output."""
    choice = choose_model(model_path=str(checkpoint))
    assert choice.network.arch == 'SRVGGNetCompact' and choice.network.kwargs['num_conv'] == num_conv
    upsampler = RealESRGANer.from_choice(choice, UpscaleSettings(pre_pad=0, device='cpu'))
    output, _ = upsampler.enhance(image, outscale=4)
    network = SRVGGNetCompact(num_conv=num_conv)
    network.load_state_dict(generator(checkpoint, 'params_ema'))
    with torch.no_grad():
        rgb = torch.from_numpy(image[:, :, ::-1].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        expected = network(rgb)[0].clamp(0, 1).permute(1, 2, 0).numpy()[:, :, ::-1]
    assert output.shape == (64, 64, 3)
    assert np.abs(output.astype(np.float32) - np.round(expected * 255)).max() <= 1
    cv2.imwrite(str(tmp_path / 'in.png'), image)
    command = ['-i', str(tmp_path / 'in.png'), '-o', str(tmp_path / 'out'), '--model_path', str(checkpoint)]
    assert image_cli.main(command) == 0
    assert cv2.imread(str(tmp_path / 'out' / 'in_out.png')).shape == (64, 64, 3)


@pytest.mark.slow
@pytest.mark.parametrize('family,num_conv', [('general_x4v3', 32), ('animevideov3', 16)])
def test_two_stage_training_of_a_compact_model(
    tmp_path,
    monkeypatch,
    capsys,
    dataset,
    sample_bgr,
    random_vgg19_file,  # noqa: F811
    family,
    num_conv,
):
    stage_one = run_config(
        monkeypatch, capsys, tmp_path, shrunk(f'train_realesrnet_{family}', dataset), random_vgg19_file
    )
    assert {path.name for path in stage_one.iterdir()} == {'net_g_2.pth', 'net_g_latest.pth'}
    start = stage_one / 'net_g_2.pth'  # the L1 stage's result starts the GAN stage, as the config says
    gan_opt = shrunk(f'train_realesrgan_{family}', dataset, pretrained=start)
    stage_two = run_config(monkeypatch, capsys, tmp_path, gan_opt, random_vgg19_file)
    assert {'net_g_2.pth', 'net_d_2.pth'} <= {path.name for path in stage_two.iterdir()}
    assert set(torch.load(stage_two / 'net_d_2.pth', weights_only=True)) == {'params'}
    changed = generator(stage_two / 'net_g_2.pth')
    assert any(not torch.equal(value, changed[key]) for key, value in generator(start, 'params_ema').items())
    assert_loads_for_inference(
        stage_two / 'net_g_2.pth', num_conv, np.ascontiguousarray(sample_bgr[:16, :16]), tmp_path
    )


def finetune_start(name: str, tmp_path: Path) -> str:
    """The released generator: realesr-animevideov3 from the packaged ncnn files; realesr-general-x4v3 is not
    packaged, so random weights in its official layout (``params`` only) stand in."""
    if name == 'finetune_realesr-animevideov3':
        return official_weights('realesr-animevideov3')
    torch.manual_seed(0)
    path = tmp_path / 'realesr-general-x4v3.pth'
    save_checkpoint(SRVGGNetCompact(num_conv=32).state_dict(), str(path), 'params')
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    'name', ['finetune_realesr-general-x4v3', pytest.param('finetune_realesr-animevideov3', marks=pytest.mark.weights)]
)
def test_finetuning_warms_the_new_discriminator_up_and_keeps_the_best_generator(
    tmp_path,
    monkeypatch,
    capsys,
    dataset,
    sample_bgr,
    random_vgg19_file,  # noqa: F811
    name,
):
    start = finetune_start(name, tmp_path)
    models = run_config(monkeypatch, capsys, tmp_path, shrunk(name, dataset, pretrained=start), random_vgg19_file)
    released, tuned = generator(Path(start)), generator(models / 'net_g_2.pth')
    # net_d_init_iters: only the discriminator learnt in the first iterations; the generator is still the released one
    assert set(released) == set(tuned) and all(torch.equal(value, tuned[key]) for key, value in released.items())
    assert torch.load(models / 'net_d_2.pth', weights_only=True)['params']  # a discriminator of its own was saved
    best = torch.load(models / 'net_g_best.pth', weights_only=True)
    assert set(best) == {'params', 'params_ema'} and all(torch.equal(best['params'][k], v) for k, v in tuned.items())
    records: List[str] = sorted(yaml.safe_load((models / 'validation_best.json').read_text())['held_out'])
    assert records == ['psnr', 'ssim']
    num_conv = COMPACT[name][1]
    assert_loads_for_inference(
        models / 'net_g_best.pth', num_conv, np.ascontiguousarray(sample_bgr[:16, :16]), tmp_path
    )
