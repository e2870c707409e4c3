"""The model-zoo table: names, architectures, release URLs and state-dict keys of the official models."""

import pytest
import torch

import realesrgan  # noqa: F401
from realesrgan.zoo import MODEL_ZOO, get_model_spec
from realesrgan.zoo.families import build_arch

OFFICIAL_NAMES = (
    'RealESRGAN_x4plus',
    'RealESRNet_x4plus',
    'RealESRGAN_x4plus_anime_6B',
    'RealESRGAN_x2plus',
    'realesr-animevideov3',
    'realesr-general-x4v3',
)
ROOT = 'https://github.com/xinntao/Real-ESRGAN/releases/download'


def count_numbers(arch: str, kwargs: dict) -> int:
    model = build_arch(arch, kwargs, torch.device('meta'))
    return sum(tensor.numel() for tensor in model.state_dict().values())


def test_zoo_holds_the_six_official_models_the_dni_partner_and_the_animevideo_variants():
    assert set(OFFICIAL_NAMES) | {
        'realesr-general-wdn-x4v3',
        'realesr-animevideov3-x2',
        'realesr-animevideov3-x3',
    } == set(MODEL_ZOO)


@pytest.mark.parametrize(
    'name, arch, netscale, url, param_key, numbers',
    [
        ('RealESRGAN_x4plus', 'RRDBNet', 4, f'{ROOT}/v0.1.0/RealESRGAN_x4plus.pth', 'params_ema', 16697987),
        ('RealESRNet_x4plus', 'RRDBNet', 4, f'{ROOT}/v0.1.1/RealESRNet_x4plus.pth', 'params_ema', 16697987),
        (
            'RealESRGAN_x4plus_anime_6B',
            'RRDBNet',
            4,
            f'{ROOT}/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth',
            'params_ema',
            4467779,
        ),
        ('RealESRGAN_x2plus', 'RRDBNet', 2, f'{ROOT}/v0.2.1/RealESRGAN_x2plus.pth', 'params_ema', 16703171),
        ('realesr-animevideov3', 'SRVGGNetCompact', 4, f'{ROOT}/v0.2.5.0/realesr-animevideov3.pth', 'params', 621424),
        ('realesr-general-x4v3', 'SRVGGNetCompact', 4, f'{ROOT}/v0.2.5.0/realesr-general-x4v3.pth', 'params', 1213296),
        (
            'realesr-general-wdn-x4v3',
            'SRVGGNetCompact',
            4,
            f'{ROOT}/v0.2.5.0/realesr-general-wdn-x4v3.pth',
            'params',
            1213296,
        ),
    ],
)
def test_entry_matches_the_official_release(name, arch, netscale, url, param_key, numbers):
    spec = get_model_spec(name)
    assert (spec.network.arch, spec.netscale, spec.urls[0], spec.param_key) == (arch, netscale, url, param_key)
    assert spec.file_name == f'{name}.pth'
    # Parameter counts of the official files (checkpoint_keys.txt / the ncnn files): the architecture is exact.
    assert count_numbers(spec.network.arch, spec.network.kwargs) == numbers


def test_general_model_names_its_dni_partner():
    assert get_model_spec('realesr-general-x4v3').dni_partner == 'realesr-general-wdn-x4v3'
    partner = get_model_spec('realesr-general-wdn-x4v3')
    assert partner.network.kwargs == get_model_spec('realesr-general-x4v3').network.kwargs
    assert all(spec.dni_partner is None for spec in MODEL_ZOO.values() if spec.name != 'realesr-general-x4v3')


@pytest.mark.parametrize(
    'name, outscale, ncnn_name',
    [
        ('realesr-animevideov3-x2', 2, 'REALESRGAN_ANIMAVIDEOV3_UP2X'),
        ('realesr-animevideov3-x3', 3, 'REALESRGAN_ANIMAVIDEOV3_UP3X'),
    ],
)
def test_animevideo_variants_are_the_x4_network_with_a_smaller_outscale(name, outscale, ncnn_name):
    base, variant = get_model_spec('realesr-animevideov3'), get_model_spec(name)
    assert variant.network == base.network and variant.netscale == 4
    assert (variant.outscale, variant.ncnn_name) == (outscale, ncnn_name)
    assert variant.file_name == base.file_name == 'realesr-animevideov3.pth'


def test_packaged_ncnn_models():
    shipped = {name: spec.ncnn_name for name, spec in MODEL_ZOO.items() if spec.ncnn_name}
    assert shipped == {
        'RealESRGAN_x4plus': 'REALESRGAN_X4PLUS_UP4X',
        'RealESRGAN_x4plus_anime_6B': 'REALESRGAN_X4PLUSANIME_UP4X',
        'realesr-animevideov3': 'REALESRGAN_ANIMAVIDEOV3_UP4X',
        'realesr-animevideov3-x2': 'REALESRGAN_ANIMAVIDEOV3_UP2X',
        'realesr-animevideov3-x3': 'REALESRGAN_ANIMAVIDEOV3_UP3X',
    }


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match='Unknown model name .RealESRGAN_x8.') as error:
        get_model_spec('RealESRGAN_x8')
    for name in OFFICIAL_NAMES:
        assert name in str(error.value)


def test_name_with_pth_suffix_is_accepted():
    assert get_model_spec('RealESRGAN_x4plus.pth') is MODEL_ZOO['RealESRGAN_x4plus']


def test_spec_builds_the_network_in_eval_mode():
    model = get_model_spec('realesr-animevideov3').build()
    assert not model.training
    with torch.no_grad():
        assert model(torch.rand(1, 3, 8, 6)).shape == (1, 3, 32, 24)
