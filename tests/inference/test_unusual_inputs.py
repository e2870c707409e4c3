"""API inputs of unusual dtypes, and a checkpoint with one tensor of the wrong shape: clear one-line errors."""

import warnings

import numpy as np
import pytest
import torch

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.zoo import build_model_from_checkpoint, save_checkpoint
from realesrgan.zoo.checkpoint import CheckpointError


def tiny_net() -> SRVGGNetCompact:
    torch.manual_seed(0)
    return SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval()


@pytest.fixture(scope='module')
def upsampler() -> RealESRGANer:
    return RealESRGANer(4, None, model=tiny_net(), pre_pad=0, device='cpu')


def test_a_bool_mask_is_upscaled_as_black_and_white(upsampler):
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    output, mode = upsampler.enhance(mask)
    expected, _ = upsampler.enhance(mask.astype(np.uint8) * 255)
    assert mode == 'L' and output.dtype == np.uint8 and np.array_equal(output, expected) and output.max() > 0


@pytest.mark.parametrize(
    'image, message',
    [
        (
            np.full((8, 8, 3), -3, np.int8),
            r'The int8 image has values from -3 to -3; pixel values must lie in 0',
        ),
        (np.full((8, 8, 3), 70000, np.int64), r'The int64 image has values from 70000 to 70000'),
        (np.zeros((8, 8, 3), np.complex64), r'complex \(complex64\) pixel values; pass its real part'),
    ],
)
def test_values_that_do_not_fit_are_refused_not_clipped(upsampler, image, message):
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # numpy's ComplexWarning would be a leak
        with pytest.raises(ValueError, match=message):
            upsampler.enhance(image)


def test_int64_within_16_bits_is_a_16_bit_image(upsampler):
    output, _ = upsampler.enhance(np.full((8, 8, 3), 300, np.int64))
    assert output.dtype == np.uint16


def test_a_checkpoint_with_one_wrong_tensor_names_it_in_one_short_line(tmp_path):
    state = tiny_net().state_dict()
    state['body.2.weight'] = torch.zeros(4, 5, 3, 3)
    path = tmp_path / 'bad.pth'
    save_checkpoint(state, str(path), 'params')
    with pytest.raises(CheckpointError) as caught:
        build_model_from_checkpoint(str(path))
    message = str(caught.value)
    assert '\n' not in message and len(message) - len(str(path)) < 300, message
    assert 'Cannot load the weights as SRVGGNetCompact' in message
    assert 'wrong shape: body.2.weight [4, 5, 3, 3] (expected [4, 4, 3, 3])' in message
    assert 'spandrel' not in message
