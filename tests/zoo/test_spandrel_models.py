"""Community architectures through spandrel: random tiny checkpoints built with spandrel's own classes, upscaled by
the CLI whole and in tiles that follow each model's size rules; and what a user without the extra is told."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import INPUTS, community_state_dict
from safetensors.torch import save_file

from realesrgan import RealESRGANer
from realesrgan.cli import image as cli
from realesrgan.metrics import psnr
from realesrgan.zoo import CheckpointError, detect_architecture, load_network, load_state_dict
from realesrgan.zoo.spandrel_models import SpandrelNetwork, guess_family

spandrel = pytest.importorskip('spandrel')

# scale, and what spandrel declares: (multiple_of, minimum, square, fp16 safe)
ARCHS = {
    'SwinIR': (2, (1, 16, False, False)),
    'HAT': (4, (1, 16, False, False)),
    'DAT': (2, (1, 16, False, False)),
    'SPAN': (4, (1, 0, False, True)),
    'OmniSR': (3, (1, 16, False, True)),
    'RealCUGAN': (2, (1, 32, False, True)),
    'SAFMN': (2, (8, 0, False, False)),
    'Uformer': (1, (128, 0, True, False)),
}
# Real-CUGAN's two U-Nets see far: tiles match the whole image (60-63 dB) with about 60 px of context per seam
# (--tile_pad 40 + the default --tile_blend 22); with the default 32 px they give 34-37 dB.
TILE_FLAGS = {'RealCUGAN': ['--tile', '32', '--tile_pad', '40']}


def save(state_dict, path: Path) -> str:
    if path.suffix == '.safetensors':
        save_file({key: value.contiguous() for key, value in state_dict.items()}, str(path))
    else:
        torch.save(state_dict, path)
    return str(path)


@pytest.fixture(scope='module')
def photo(tmp_path_factory) -> Path:
    """A 296x120 photo. Its sides are multiples of 8: window-attention models (SwinIR, HAT, OmniSR) pad to their
    window inside, which spandrel does not declare, so an untiled run would differ from a tiled one at the image
    border for that reason alone."""
    path = tmp_path_factory.mktemp('input') / 'photo.png'
    img = cv2.resize(cv2.imread(str(INPUTS / 'astronaut.png')), (296, 120), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), img)
    return path


@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_spandrel_reads_scale_and_traits_and_we_guess_the_family(arch):
    state_dict = community_state_dict(arch)
    info = detect_architecture(state_dict)
    scale, (multiple_of, minimum, square, fp16) = ARCHS[arch]
    assert (info.arch, info.netscale, info.native) == (arch, scale, False)
    traits = info.traits
    assert (traits.multiple_of, traits.minimum, traits.square, traits.fp16) == (multiple_of, minimum, square, fp16)
    # without spandrel, the keys alone name the family (Real-CUGAN is spandrel's RealCUGAN)
    assert guess_family(state_dict).replace('-', '') == arch


@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_the_cli_upscales_whole_and_in_tiles_that_follow_the_size_rules(arch, photo, tmp_path, monkeypatch):
    suffix = '.safetensors' if arch in ('SwinIR', 'SPAN', 'Uformer') else '.pth'
    weights = save(community_state_dict(arch), tmp_path / f'{arch}{suffix}')
    scale, _ = ARCHS[arch]
    inputs = {}
    forward = SpandrelNetwork.forward

    def recording(self, x):
        inputs.setdefault(run_name, []).append(tuple(x.shape[2:]))
        return forward(self, x)

    monkeypatch.setattr(SpandrelNetwork, 'forward', recording)
    outputs = {}
    for run_name, tile_flags in (('whole', []), ('tiled', TILE_FLAGS.get(arch, ['--tile', '32']))):
        out = tmp_path / run_name
        args = ['-i', str(photo), '-o', str(out), '--model_path', weights, '--precision', 'fp32', *tile_flags]
        assert cli.main([*args, '--weights_dir', str(tmp_path / 'weights')]) == 0
        outputs[run_name] = cv2.imread(str(out / 'photo_out.png'))

    assert outputs['whole'].shape == outputs['tiled'].shape == (120 * scale, 296 * scale, 3)
    assert psnr(outputs['whole'], outputs['tiled']) >= 40
    rules = load_network(load_state_dict(weights))[1].traits
    assert len(inputs['tiled']) > 1  # really tiled
    for height, width in inputs['whole'] + inputs['tiled']:
        assert height % rules.multiple_of == 0 and width % rules.multiple_of == 0
        assert min(height, width) >= rules.minimum
        assert height == width or not rules.square


def test_without_the_extra_the_message_names_the_family_and_the_extra(tmp_path, monkeypatch, capsys):
    weights = save(community_state_dict('HAT'), tmp_path / '4x-HAT-tiny.safetensors')
    monkeypatch.setitem(sys.modules, 'spandrel', None)  # `import spandrel` now fails as if it were not installed
    with pytest.raises(CheckpointError, match=r'look like HAT.*pip install -e "\.\[models\]"'):
        load_network(load_state_dict(weights), source=weights)

    capsys.readouterr()  # what building the model printed (warnings of its library)
    status = cli.main(['-i', str(INPUTS / 'astronaut.png'), '-o', str(tmp_path / 'out'), '--model_path', weights])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count('\n') == 1 and '4x-HAT-tiny.safetensors' in error and 'look like HAT' in error
    assert 'models extra' in error and 'Traceback' not in error


@pytest.mark.parametrize('installed', [False, True], ids=['without-spandrel', 'with-spandrel'])
def test_unknown_keys_say_what_they_hold(installed, monkeypatch):
    if not installed:
        monkeypatch.setitem(sys.modules, 'spandrel', None)
    hint = 'spandrel does not recognise them either' if installed else 'installing the models extra'
    with pytest.raises(CheckpointError, match=rf'fit neither RRDBNet .*they hold 1 tensors.*{hint}'):
        detect_architecture({'encoder.weight': torch.zeros(4, 3, 3, 3)})


def test_the_api_takes_a_spandrel_model_or_its_file(tmp_path):
    state_dict = community_state_dict('SPAN')
    weights = save(state_dict, tmp_path / 'span.pth')
    img = cv2.imread(str(INPUTS / 'astronaut.png'))[:40, :44]
    descriptor = spandrel.ModelLoader().load_from_state_dict(dict(state_dict))
    with torch.inference_mode():
        expected = descriptor(torch.from_numpy(img[:, :, ::-1] / 255.0).float().permute(2, 0, 1)[None])
    expected = (expected[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255).round().astype(np.uint8)

    for model, model_path in ((descriptor, None), (None, weights)):
        upsampler = RealESRGANer(4, model_path, model=model, pre_pad=0, device='cpu', precision='fp32')
        assert upsampler.traits is not None and upsampler.traits.fp16
        output, _ = upsampler.enhance(img)
        assert psnr(expected, output) > 80  # spandrel's own call; channels-last convolutions round differently

    with pytest.raises(ValueError, match='x4 SPAN network, but scale=2'):
        RealESRGANer(2, weights, device='cpu')


def test_models_that_are_not_rgb_upscalers_are_refused():
    from spandrel.architectures.SPAN import SPAN

    gray = SPAN(num_in_ch=1, num_out_ch=1, feature_channels=8, upscale=2).state_dict()
    with pytest.raises(CheckpointError, match='takes 1 channels and gives 1; only RGB'):
        load_network(gray)


def test_the_video_job_detects_the_network_of_a_model_path_alone(tmp_path):
    from realesrgan.video.job import VideoJob

    weights = save(community_state_dict('SwinIR'), tmp_path / 'swinir.pth')
    choice = VideoJob(model_path=weights).choose_model()
    assert (choice.network.arch, choice.outscale, choice.model_paths) == ('SwinIR', 2.0, (weights,))
    assert VideoJob(model_path=weights).official_name == 'realesr-animevideov3'  # e.g. for --face_enhance
    with pytest.raises(ValueError, match='do not fit SRVGGNetCompact'):  # -n given: the weights must fit it
        RealESRGANer.from_choice(
            VideoJob(model_path=weights, model_name='realesr-animevideov3').choose_model(),
            VideoJob().settings.replace(device='cpu'),
        )
