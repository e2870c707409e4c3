"""RealESRNetModel and RealESRGANModel on the CPU with tiny networks and hand-made batches."""

import copy
import urllib.error
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
import torch
from basicsr.archs import vgg_arch
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.metrics import calculate_psnr
from basicsr.models import build_model
from basicsr.utils import img_process_util, set_random_seed, tensor2img
from basicsr.utils.registry import MODEL_REGISTRY
from helpers import QUIET
from torch.utils.data import DataLoader, Dataset
from training_helpers import CROP, GT_SIZE, TINY_G, gt_batch, synthetic_batch, tiny_opt, weights

from realesrgan.models.degradation_pipeline import (
    FIRST_ORDER_DEFAULTS,
    SECOND_ORDER_DEFAULTS,
    DegradationSettings,
    SecondOrderDegradation,
)
from realesrgan.models.realesrgan_model import RealESRGANModel
from realesrgan.models.realesrnet_model import RealESRNetModel
from realesrgan.utils import RealESRGANer


class PairList(Dataset):
    """Validation pairs in memory, shaped like PairedImageDataset's items."""

    def __init__(self, pairs: List[Dict[str, Any]]) -> None:
        self.pairs = pairs
        self.opt = {'name': 'in_memory'}

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        return self.pairs[index]


def test_models_are_registered():
    assert MODEL_REGISTRY.get('RealESRNetModel') is RealESRNetModel
    assert MODEL_REGISTRY.get('RealESRGANModel') is RealESRGANModel


@pytest.mark.parametrize(
    'model_type, gt_usm', [('RealESRNetModel', True), ('RealESRNetModel', False), ('RealESRGANModel', None)]
)
def test_feed_data_runs_the_shared_pipeline(tmp_path, sample_bgr, model_type, gt_usm):
    top = {} if gt_usm is None else {'gt_usm': gt_usm}
    model = build_model(tiny_opt(model_type, tmp_path, **top))
    data = synthetic_batch(gt_batch(sample_bgr, 0))
    set_random_seed(7)
    model.feed_data(data)

    reference = SecondOrderDegradation(DegradationSettings.from_options(model.opt), torch.device('cpu'))
    set_random_seed(7)
    pair = reference(data['gt'], data['kernel1'], data['kernel2'], data['sinc_kernel'], sharpen=gt_usm is not False)
    assert model.lq.shape == (2, 3, GT_SIZE // 4, GT_SIZE // 4) and model.gt.shape == (2, 3, GT_SIZE, GT_SIZE)
    assert model.lq.is_contiguous() and model.lq.device == model.device == torch.device('cpu')
    assert torch.equal(model.lq, pair.lq)  # the queue passes batches through while it fills
    if model_type == 'RealESRGANModel':
        assert torch.equal(model.gt, pair.gt)
        assert torch.equal(model.gt_usm, reference.sharpen(pair.gt))
    else:  # RealESRNet trains towards the sharpened GT when gt_usm is on
        assert torch.equal(model.gt, pair.gt_usm if gt_usm else pair.gt)


def basicsr_original(model_type: str, opt: Dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """BasicSR's bundled copy of the original model class, made to run on the CPU.

    Its ``.cuda()`` calls become no-ops and its ``filter2D`` gets the contiguity fix it needs on current torch;
    nothing else changes, so it is a reference that nobody on this team wrote.
    """
    import basicsr.models.realesrgan_model as original_gan
    import basicsr.models.realesrnet_model as original_net

    monkeypatch.setattr(torch.Tensor, 'cuda', lambda self, *args, **kwargs: self)
    monkeypatch.setattr(torch.nn.Module, 'cuda', lambda self, *args, **kwargs: self)
    for module in (original_net, original_gan):
        monkeypatch.setattr(module, 'filter2D', img_process_util.filter2D)
    return MODEL_REGISTRY.get(f'{model_type}_basicsr')(opt)


@pytest.mark.parametrize('model_type', ['RealESRNetModel', 'RealESRGANModel'])
def test_training_steps_match_the_original_implementation(tmp_path, sample_bgr, monkeypatch, model_type):
    # the original reads every key without defaults: spell them all out
    degradation = dict(FIRST_ORDER_DEFAULTS, **{f'{key}2': value for key, value in SECOND_ORDER_DEFAULTS.items()})
    opt = tiny_opt(
        model_type,
        tmp_path,
        queue_size=4,
        second_blur_prob=0.8,
        gt_usm=True,
        l1_gt_usm=True,
        percep_gt_usm=True,
        gan_gt_usm=False,
        **degradation,
    )
    ours = build_model(copy.deepcopy(opt))
    original = basicsr_original(model_type, copy.deepcopy(opt), monkeypatch)
    for name in ('net_g', 'net_g_ema', 'net_d'):
        if hasattr(ours, name):
            getattr(original, name).load_state_dict(getattr(ours, name).state_dict())
    for current_iter in range(1, 5):  # the queue fills after two batches, then swaps
        data = synthetic_batch(gt_batch(sample_bgr, current_iter))
        data['kernel1'][1] = torch.eye(21) / 21  # a different kernel per image
        for model in (ours, original):
            set_random_seed(current_iter)
            model.feed_data(data)
            model.optimize_parameters(current_iter)
        assert torch.equal(ours.lq, original.lq) and torch.equal(ours.gt, original.gt), current_iter
        if model_type == 'RealESRGANModel':
            assert torch.equal(ours.gt_usm, original.gt_usm)
        assert ours.get_current_log() == original.get_current_log()
    for name, value in weights(original.net_g_ema).items():
        assert torch.equal(weights(ours.net_g_ema)[name], value), name


def test_queue_size_must_be_a_multiple_of_the_batch_size(tmp_path, sample_bgr):
    model = build_model(tiny_opt('RealESRNetModel', tmp_path, queue_size=5))
    with pytest.raises(ValueError, match=r'queue_size \(5\).*batch size \(2\)'):
        model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))


def test_queue_mixes_pairs_across_batches(tmp_path):
    model = build_model(tiny_opt('RealESRGANModel', tmp_path, queue_size=4, **QUIET))

    def constant_batch(index: int) -> Dict[str, torch.Tensor]:
        levels = torch.tensor([0.1 + 0.1 * index, 0.15 + 0.1 * index]).view(2, 1, 1, 1)
        return synthetic_batch(levels.expand(2, 3, CROP, CROP).contiguous())

    set_random_seed(0)
    seen: List[float] = []
    for index in range(6):
        model.feed_data(constant_batch(index))
        gt_levels = model.gt.mean(dim=(1, 2, 3))
        # pairs stay pairs: each LQ is the (JPEG-compressed) level of its own GT
        assert torch.allclose(model.lq.mean(dim=(1, 2, 3)), gt_levels, atol=0.01)
        fed = [0.1 + 0.1 * index, 0.15 + 0.1 * index]
        if index < 2:  # filling: the batch passes through
            assert torch.allclose(gt_levels, torch.tensor(fed), atol=1e-4)
        else:  # full: the batch goes into the pool and earlier pairs come out
            assert all(min(abs(level - old) for old in seen) < 1e-4 for level in gt_levels.tolist())
            assert all(min(abs(level - new) for new in fed) > 0.01 for level in gt_levels.tolist())
            pool_levels = model.queue_gt.mean(dim=(1, 2, 3)).tolist()
            assert all(min(abs(level - pooled) for pooled in pool_levels) < 1e-4 for level in fed)
        seen.extend(fed)


def test_paired_data_is_used_as_given(tmp_path):
    model = build_model(tiny_opt('RealESRGANModel', tmp_path, high_order_degradation=False))
    lq, gt = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 32, 32)
    model.feed_data({'lq': lq, 'gt': gt})
    assert torch.equal(model.lq, lq) and torch.equal(model.gt, gt)
    assert torch.equal(model.gt_usm, model.degradation.sharpen(gt))
    model.optimize_parameters(1)
    assert set(model.get_current_log()) == {'l_g_pix', 'l_g_gan', 'l_d_real', 'out_d_real', 'l_d_fake', 'out_d_fake'}


def test_synthesis_without_kernels_gets_a_clear_error(tmp_path):
    model = build_model(tiny_opt('RealESRNetModel', tmp_path))
    with pytest.raises(KeyError, match='kernel1, kernel2, sinc_kernel.*high_order_degradation: false'):
        model.feed_data({'lq': torch.rand(2, 3, 8, 8), 'gt': torch.rand(2, 3, 32, 32)})


@pytest.mark.parametrize('is_train', [True, False])
def test_validation_uses_the_given_lq_and_restores_is_train(tmp_path, is_train):
    opt = tiny_opt('RealESRNetModel', tmp_path)
    opt['val'] = {
        'val_freq': 1,
        'save_img': False,
        'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': False}},
    }
    model = build_model(opt)
    model.is_train = is_train
    generator = torch.Generator().manual_seed(0)
    pairs = [
        {
            'lq': torch.rand(3, 8, 8, generator=generator),
            'gt': torch.rand(3, 32, 32, generator=generator),
            'lq_path': f'val_{index}.png',
        }
        for index in range(2)
    ]
    # no kernels in the batches: synthesising would fail
    model.validation(DataLoader(PairList(pairs)), 1, None, save_img=False)
    assert model.is_train is is_train
    expected = []
    with torch.no_grad():
        for pair in pairs:
            output = model.net_g_ema(pair['lq'].unsqueeze(0))
            expected.append(calculate_psnr(tensor2img([output]), tensor2img([pair['gt'].unsqueeze(0)]), 4))
    assert model.metric_results['psnr'] == pytest.approx(np.mean(expected), abs=1e-6)


def test_gan_steps_alternate_and_log_every_loss(tmp_path, sample_bgr):
    opt = tiny_opt('RealESRGANModel', tmp_path)
    opt['train'].update(net_d_init_iters=1, net_d_iters=2)
    model = build_model(opt)
    set_random_seed(0)
    data = synthetic_batch(gt_batch(sample_bgr, 0))
    logs = {}
    for current_iter in (1, 2, 3):
        g_before, d_before = weights(model.net_g), weights(model.net_d)
        model.feed_data(data)
        model.optimize_parameters(current_iter)
        logs[current_iter] = set(model.get_current_log())
        g_changed = any(not torch.equal(g_before[key], value) for key, value in weights(model.net_g).items())
        d_changed = any(not torch.equal(d_before[key], value) for key, value in weights(model.net_d).items())
        assert d_changed
        assert g_changed == (current_iter == 2), current_iter  # after net_d_init_iters, every net_d_iters
    discriminator_keys = {'l_d_real', 'out_d_real', 'l_d_fake', 'out_d_fake'}
    assert logs[1] == logs[3] == discriminator_keys
    assert logs[2] == discriminator_keys | {'l_g_pix', 'l_g_gan'}


@pytest.mark.parametrize('l1_gt_usm', [True, False])
def test_usm_options_choose_the_loss_targets(tmp_path, sample_bgr, l1_gt_usm):
    model = build_model(tiny_opt('RealESRGANModel', tmp_path, l1_gt_usm=l1_gt_usm))
    set_random_seed(0)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))
    model.optimize_parameters(1)
    target = model.gt_usm if l1_gt_usm else model.gt
    other = model.gt if l1_gt_usm else model.gt_usm
    l_g_pix = model.get_current_log()['l_g_pix']
    assert l_g_pix == pytest.approx(torch.mean(torch.abs(model.output - target)).item(), rel=1e-5)
    assert l_g_pix != pytest.approx(torch.mean(torch.abs(model.output - other)).item(), rel=1e-3)


def test_ema_follows_the_generator(tmp_path, sample_bgr):
    opt = tiny_opt('RealESRNetModel', tmp_path)
    opt['train']['ema_decay'] = 0.9
    model = build_model(opt)
    set_random_seed(0)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))
    model.optimize_parameters(1)  # moves the EMA away from the generator
    ema_before = weights(model.net_g_ema)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 1)))
    model.optimize_parameters(2)
    generator = dict(model.net_g.named_parameters())
    for name, param in model.net_g_ema.named_parameters():
        assert torch.allclose(param, 0.9 * ema_before[name] + 0.1 * generator[name], atol=1e-7), name


@pytest.mark.parametrize('model_type', ['RealESRNetModel', 'RealESRGANModel'])
def test_losses_decrease_over_a_few_dozen_iterations(tmp_path, sample_bgr, model_type):
    model = build_model(tiny_opt(model_type, tmp_path))
    set_random_seed(0)
    losses = []
    for current_iter in range(1, 31):
        model.update_learning_rate(current_iter)
        model.feed_data(synthetic_batch(gt_batch(sample_bgr, current_iter % 4)))
        model.optimize_parameters(current_iter)
        log = model.get_current_log()
        losses.append(log['l_pix'] if model_type == 'RealESRNetModel' else log['l_g_pix'])
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses


@pytest.fixture(scope='module')
def random_vgg19_file(tmp_path_factory) -> Path:
    """A randomly initialised VGG19 state dict in torchvision's layout (classifier weights stored as one value)."""
    layers: List[Any] = [
        64,
        64,
        'M',
        128,
        128,
        'M',
        256,
        256,
        256,
        256,
        'M',
        512,
        512,
        512,
        512,
        'M',
        512,
        512,
        512,
        512,
        'M',
    ]
    generator = torch.Generator().manual_seed(0)
    state, in_ch, index = {}, 3, 0
    for layer in layers:  # torchvision numbers convolutions, ReLUs and poolings alike
        if layer == 'M':
            index += 1
            continue
        std = (2 / (in_ch * 9)) ** 0.5
        state[f'features.{index}.weight'] = torch.randn(layer, in_ch, 3, 3, generator=generator) * std
        state[f'features.{index}.bias'] = torch.zeros(layer)
        in_ch, index = layer, index + 2
    # the perceptual loss never uses the classifier: expanded views keep the file small
    for index, (out_f, in_f) in {0: (4096, 25088), 3: (4096, 4096), 6: (1000, 4096)}.items():
        state[f'classifier.{index}.weight'] = torch.zeros(1, 1).expand(out_f, in_f)
        state[f'classifier.{index}.bias'] = torch.zeros(1).expand(out_f)
    path = tmp_path_factory.mktemp('pretrained_models') / 'vgg19-dcbb9e9d.pth'
    torch.save(state, path)
    return path


PERCEPTUAL_OPT = {
    'type': 'PerceptualLoss',
    'layer_weights': {'conv1_2': 0.1, 'conv2_2': 0.1, 'conv3_4': 1, 'conv4_4': 1, 'conv5_4': 1},
    'vgg_type': 'vgg19',
    'use_input_norm': True,
    'perceptual_weight': 1.0,
    'style_weight': 1.0,
    'range_norm': False,
    'criterion': 'l1',
}


@pytest.mark.filterwarnings('ignore:.*(pretrained|weight enum).*:UserWarning')  # BasicSR's torchvision call
def test_perceptual_loss_uses_vgg19_weights_put_in_place(tmp_path, sample_bgr, random_vgg19_file, monkeypatch):
    monkeypatch.setattr(vgg_arch, 'VGG_PRETRAIN_PATH', str(random_vgg19_file))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', pytest.fail)  # nothing may be downloaded
    opt = tiny_opt('RealESRGANModel', tmp_path)
    opt['train']['perceptual_opt'] = copy.deepcopy(PERCEPTUAL_OPT)
    model = build_model(opt)
    conv1_1 = model.cri_perceptual.vgg.vgg_net.conv1_1.weight
    assert torch.equal(conv1_1, torch.load(random_vgg19_file)['features.0.weight'])
    set_random_seed(0)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))
    model.optimize_parameters(1)
    log = model.get_current_log()
    assert {'l_g_pix', 'l_g_percep', 'l_g_style', 'l_g_gan'} <= set(log)
    assert all(np.isfinite(value) for value in log.values())


def test_missing_vgg19_weights_offline_get_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(vgg_arch, 'VGG_PRETRAIN_PATH', str(tmp_path / 'nowhere' / 'vgg19-dcbb9e9d.pth'))
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))

    def offline(url: str, dst: str) -> None:
        raise urllib.error.URLError('Name or service not known')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    opt = tiny_opt('RealESRGANModel', tmp_path)
    opt['train']['perceptual_opt'] = copy.deepcopy(PERCEPTUAL_OPT)
    with pytest.raises(FileNotFoundError, match='vgg19-dcbb9e9d.pth') as error:
        build_model(opt)
    message = str(error.value)
    assert str(tmp_path / 'nowhere' / 'vgg19-dcbb9e9d.pth') in message
    assert str(tmp_path / 'hub' / 'checkpoints' / 'vgg19-dcbb9e9d.pth') in message
    assert not (tmp_path / 'hub' / 'checkpoints' / 'vgg19-dcbb9e9d.pth').exists()


def test_checkpoints_have_the_official_layout(tmp_path, sample_bgr):
    model = build_model(tiny_opt('RealESRGANModel', tmp_path))
    set_random_seed(0)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))
    model.optimize_parameters(1)
    model.save(0, 1)
    generator = torch.load(tmp_path / 'net_g_1.pth', weights_only=True)
    discriminator = torch.load(tmp_path / 'net_d_1.pth', weights_only=True)
    assert set(generator) == {'params', 'params_ema'} and set(discriminator) == {'params'}
    fresh = RRDBNet(**{key: value for key, value in TINY_G.items() if key != 'type'})
    assert list(generator['params_ema']) == list(fresh.state_dict())
    fresh.load_state_dict(generator['params_ema'])
    for key, value in weights(model.net_g_ema).items():
        assert torch.equal(generator['params_ema'][key], value)
    assert list(discriminator['params']) == list(weights(model.net_d))


def test_checkpoint_loads_into_realesrganer(tmp_path, sample_bgr):
    model = build_model(tiny_opt('RealESRNetModel', tmp_path))
    set_random_seed(0)
    model.feed_data(synthetic_batch(gt_batch(sample_bgr, 0)))
    model.optimize_parameters(1)
    model.save(0, 1)
    network = RRDBNet(**{key: value for key, value in TINY_G.items() if key != 'type'})
    upsampler = RealESRGANer(
        scale=4,
        model_path=str(tmp_path / 'net_g_1.pth'),
        model=network,
        tile=0,
        pre_pad=0,
        half=False,
        device=torch.device('cpu'),
    )
    image = np.ascontiguousarray(sample_bgr[:16, :16])
    output, _ = upsampler.enhance(image, outscale=4)
    with torch.no_grad():
        rgb = torch.from_numpy(image[:, :, ::-1].astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
        expected = tensor2img([model.net_g_ema(rgb)])  # the EMA weights (params_ema) are what gets loaded
    assert output.shape == (64, 64, 3)
    assert np.abs(output.astype(int) - expected.astype(int)).max() <= 1
