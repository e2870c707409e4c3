"""Community ESRGAN checkpoints in the older key layouts load natively as BasicSR's RRDBNet, as .pth or .safetensors.

The first layout (``model.0`` ... ``model.10``) is made by spandrel's own ESRGAN class and its converter, an
implementation independent of ours; the ``RRDB_trunk`` layout is renamed here by a table of the key names.
"""

import re
import sys

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet
from helpers import INPUTS, official_weights
from safetensors.torch import save_file

from realesrgan.cli import image as cli
from realesrgan.zoo import CheckpointError, build_model_from_checkpoint, detect_architecture, load_state_dict

spandrel = pytest.importorskip('spandrel')
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402  (after the skip: spandrel is in the models extra)


def save(state_dict, path) -> str:
    if str(path).endswith('.safetensors'):
        save_file({key: value.contiguous() for key, value in state_dict.items()}, str(path))
    else:
        torch.save(state_dict, path)
    return str(path)


# (image channels, features, blocks, scale); x2 and x1 take a pixel-unshuffled input, as BasicSR's RRDBNet does
VARIANTS = [(16, 3, 4), (8, 1, 4), (12, 2, 2), (8, 2, 1)]


@pytest.mark.parametrize('feat, blocks, scale', VARIANTS, ids=lambda v: str(v))
@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_the_first_esrgan_layout_loads_as_rrdbnet(feat, blocks, scale, suffix, tmp_path):
    torch.manual_seed(0)
    shuffle = {4: None, 2: 2, 1: 4}[scale]
    reference = ESRGAN(
        in_nc=3 * (shuffle or 1) ** 2, out_nc=3, num_filters=feat, num_blocks=blocks, scale=4, shuffle_factor=shuffle
    ).eval()
    assert all(key.startswith('model.') for key in reference.state_dict())
    path = save(reference.state_dict(), tmp_path / f'{scale}x_community{suffix}')

    model, info = build_model_from_checkpoint(path)

    assert type(model) is RRDBNet and info.native
    assert info.kwargs == dict(num_in_ch=3, num_out_ch=3, num_feat=feat, num_block=blocks, num_grow_ch=32, scale=scale)
    assert info.traits.multiple_of == {4: 1, 2: 2, 1: 4}[scale]
    image = torch.rand(1, 3, 16, 20)
    with torch.inference_mode():
        torch.testing.assert_close(model(image), reference(image), rtol=0, atol=1e-6)


# the later ESRGAN / BSRGAN names of BasicSR's RRDBNet layers
TRUNK_NAMES = [
    (r'body\.(\d+)\.rdb(\d)\.', r'RRDB_trunk.\1.RDB\2.'),
    (r'^conv_body\.', 'trunk_conv.'),
    (r'^conv_up(\d)\.', r'upconv\1.'),
    (r'^conv_hr\.', 'HRconv.'),
]


def test_the_rrdb_trunk_layout_loads_as_rrdbnet(tmp_path):
    torch.manual_seed(0)
    reference = RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=2, num_grow_ch=4, scale=2).eval()
    renamed = {}
    for key, value in reference.state_dict().items():
        for pattern, name in TRUNK_NAMES:
            key = re.sub(pattern, name, key)
        renamed[key] = value
    assert 'RRDB_trunk.1.RDB3.conv5.weight' in renamed and 'HRconv.bias' in renamed
    model, info = build_model_from_checkpoint(save({'params': renamed}, tmp_path / 'bsrgan.pth'))
    assert info.kwargs['num_block'] == 2 and info.netscale == 2
    image = torch.rand(1, 3, 8, 10)
    with torch.inference_mode():
        assert torch.equal(model(image), reference(image))


@pytest.mark.parametrize('upsamplings', [1, 3], ids=['native-x2', 'x8'])
def test_other_esrgan_variants_go_to_spandrel(upsamplings, monkeypatch):
    """One or three upsampling steps are not BasicSR's RRDBNet: spandrel loads them, and without it the message
    says which variant the file is."""
    state_dict = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2**upsamplings).state_dict()
    info = detect_architecture(state_dict)
    assert (info.arch, info.netscale, info.native) == ('ESRGAN', 2**upsamplings, False)
    monkeypatch.setitem(sys.modules, 'spandrel', None)
    with pytest.raises(CheckpointError, match=rf'look like ESRGAN \(first layout, {upsamplings} upsampling steps\)'):
        detect_architecture(state_dict)


@pytest.fixture(scope='module')
def tiny_photo(tmp_path_factory):
    """A 20x16 crop: RealESRGAN_x4plus is 23 blocks, and three CLI runs of it must stay quick."""
    folder = tmp_path_factory.mktemp('photo')
    cv2.imwrite(str(folder / 'crop.png'), cv2.imread(str(INPUTS / 'astronaut.png'))[40:56, 50:70])
    return folder / 'crop.png'


def upscale(photo, weights, out) -> np.ndarray:
    args = ['-i', str(photo), '-o', str(out), '--model_path', weights, '--precision', 'fp32']
    assert cli.main([*args, '--weights_dir', str(out / 'weights')]) == 0
    return cv2.imread(str(out / 'crop_out.png'), cv2.IMREAD_UNCHANGED)


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize('name', ['RealESRGAN_x4plus', 'RealESRGAN_x4plus_anime_6B'])
def test_official_weights_in_the_old_layout_and_as_safetensors_give_the_official_pixels(
    name, tiny_photo, tmp_path, monkeypatch
):
    official = official_weights(name)
    # spandrel's ESRGAN converter writes BasicSR's keys back in the first ESRGAN layout
    descriptor = spandrel.ModelLoader().load_from_state_dict(load_state_dict(official))
    old_layout = descriptor.model.state_dict()
    assert 'model.1.sub.0.RDB1.conv1.0.weight' in old_layout and 'model.10.weight' in old_layout
    files = {
        'official': official,
        'old-layout': save(old_layout, tmp_path / f'{name}_old.pth'),
        'old-layout-safetensors': save(old_layout, tmp_path / f'{name}_old.safetensors'),
        'safetensors': save(load_state_dict(official), tmp_path / f'{name}.safetensors'),
    }
    monkeypatch.setitem(sys.modules, 'spandrel', None)  # natively: our RRDBNet, without the extra
    outputs = {label: upscale(tiny_photo, path, tmp_path / label) for label, path in files.items()}
    assert outputs['official'].shape == (64, 80, 3)
    for label, output in outputs.items():
        assert np.array_equal(output, outputs['official']), label
