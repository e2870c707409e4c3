"""Architecture detection from state dicts, and loading checkpoints of any layout."""

import collections

import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet
from helpers import assert_family_loads_correctly

import realesrgan  # noqa: F401
from realesrgan.archs.discriminator_arch import UNetDiscriminatorSN
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.zoo import MODEL_ZOO, CheckpointError, build_model_from_checkpoint, detect_architecture, load_state_dict
from realesrgan.zoo.families import ArchInfo, build_arch


@pytest.mark.parametrize('name', sorted(MODEL_ZOO))
def test_detects_every_zoo_entry(name):
    spec = MODEL_ZOO[name]
    state_dict = build_arch(spec.network.arch, spec.network.kwargs, torch.device('meta')).state_dict()
    info = detect_architecture(state_dict)
    assert (info.arch, info.kwargs, info.netscale) == (spec.network.arch, spec.network.kwargs, spec.netscale)


RRDB_VARIANTS = [
    dict(num_feat=16, num_block=6, num_grow_ch=8, scale=4),
    dict(num_feat=8, num_block=23, num_grow_ch=4, scale=4),
    dict(num_feat=16, num_block=6, num_grow_ch=8, scale=2),
    dict(num_feat=12, num_block=2, num_grow_ch=6, scale=1),
]


SRVGG_VARIANTS = [
    dict(num_feat=16, num_conv=16, upscale=4, act_type='prelu'),
    dict(num_feat=8, num_conv=32, upscale=4, act_type='prelu'),
    dict(num_feat=8, num_conv=4, upscale=2, act_type='prelu'),
    dict(num_feat=8, num_conv=3, upscale=3, act_type='relu'),
]


@pytest.mark.parametrize(
    'info',
    [ArchInfo('RRDBNet', dict(num_in_ch=3, num_out_ch=3, **variant), variant['scale']) for variant in RRDB_VARIANTS]
    + [
        ArchInfo('SRVGGNetCompact', dict(num_in_ch=3, num_out_ch=3, **variant), variant['upscale'])
        for variant in SRVGG_VARIANTS
    ],
    ids=lambda info: f'{info.arch}-' + '-'.join(str(value) for value in info.kwargs.values()),
)
def test_every_family_variant_loads_correctly(info, tmp_path):
    assert_family_loads_correctly(info, tmp_path)


def test_plain_activation_defaults_to_relu_and_can_be_overridden():
    state_dict = SRVGGNetCompact(num_feat=8, num_conv=2, act_type='leakyrelu').state_dict()
    assert detect_architecture(state_dict).kwargs['act_type'] == 'relu'
    assert detect_architecture(state_dict, default_act_type='leakyrelu').kwargs['act_type'] == 'leakyrelu'


def test_gray_rrdbnet_x2_keeps_one_channel():
    info = detect_architecture(RRDBNet(1, 1, scale=2, num_feat=8, num_block=1, num_grow_ch=4).state_dict())
    assert (info.kwargs['num_in_ch'], info.kwargs['num_out_ch'], info.netscale) == (1, 1, 2)


@pytest.mark.parametrize('layout', ['params_ema', 'params', 'bare', 'dataparallel'])
def test_load_state_dict_accepts_every_layout(layout, tmp_path):
    state_dict = SRVGGNetCompact(num_feat=4, num_conv=1).state_dict()
    saved = {
        'params_ema': {'params_ema': state_dict, 'params': {key: value + 1 for key, value in state_dict.items()}},
        'params': {'params': state_dict},
        'bare': state_dict,
        'dataparallel': {f'module.{key}': value for key, value in state_dict.items()},
    }[layout]
    torch.save(saved, tmp_path / 'weights.pth')
    loaded = load_state_dict(str(tmp_path / 'weights.pth'))
    assert list(loaded) == list(state_dict)
    assert all(torch.equal(loaded[key], state_dict[key]) for key in state_dict)


def test_explicit_param_key_picks_params_over_params_ema(tmp_path):
    state_dict = SRVGGNetCompact(num_feat=4, num_conv=1).state_dict()
    plus_one = {key: value + 1 for key, value in state_dict.items()}
    torch.save({'params_ema': state_dict, 'params': plus_one}, tmp_path / 'weights.pth')
    assert torch.equal(load_state_dict(str(tmp_path / 'weights.pth'), 'params')['body.0.bias'], plus_one['body.0.bias'])
    with pytest.raises(CheckpointError, match="no 'net_g' entry; its top-level keys are 'params_ema', 'params'"):
        load_state_dict(str(tmp_path / 'weights.pth'), 'net_g')


def test_discriminator_checkpoint_is_named_as_such():
    with pytest.raises(CheckpointError, match='discriminator weights .* use the generator checkpoint'):
        detect_architecture(UNetDiscriminatorSN(3, num_feat=8).state_dict())


def test_unknown_state_dict_error_names_what_it_saw():
    state_dict = {'encoder.weight': torch.zeros(8, 3, 3, 3), 'encoder.bias': torch.zeros(8)}
    with pytest.raises(CheckpointError) as error:
        detect_architecture(state_dict)
    message = str(error.value)
    assert 'neither RRDBNet' in message and 'SRVGGNetCompact' in message
    assert '2 tensors, first: encoder.weight [8, 3, 3, 3], encoder.bias [8]' in message


def test_rrdbnet_with_a_missing_layer_reports_the_key():
    state_dict = RRDBNet(3, 3, num_feat=8, num_block=2, num_grow_ch=4).state_dict()
    del state_dict['conv_up2.weight']
    with pytest.raises(CheckpointError, match=r'Cannot load the weights as RRDBNet: .*missing: conv_up2.weight'):
        detect_architecture(state_dict)


def test_srvgg_with_inconsistent_widths_reports_the_shapes():
    state_dict = SRVGGNetCompact(num_feat=8, num_conv=2).state_dict()
    state_dict['body.4.weight'] = torch.zeros(8, 4, 3, 3)
    with pytest.raises(CheckpointError, match=r'wrong shape: body.4.weight \[8, 4, 3, 3\] \(expected \[8, 8, 3, 3\]\)'):
        detect_architecture(state_dict)


def test_srvgg_last_layer_not_a_pixel_shuffle_width():
    state_dict = SRVGGNetCompact(num_feat=8, num_conv=1).state_dict()
    state_dict['body.4.weight'] = torch.zeros(47, 8, 3, 3)
    state_dict['body.4.bias'] = torch.zeros(47)
    with pytest.raises(CheckpointError, match='47 outputs'):
        detect_architecture(state_dict)


def test_load_errors_are_actionable(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_state_dict(str(tmp_path / 'missing.pth'))
    (tmp_path / 'text.pth').write_text('<html>not a checkpoint</html>')
    with pytest.raises(CheckpointError, match='is not a PyTorch checkpoint'):
        load_state_dict(str(tmp_path / 'text.pth'))
    torch.save({'iter': 5, 'optimizers': [{'state': {}}]}, tmp_path / '5.state')
    with pytest.raises(CheckpointError, match='not a bare state dict .*training state'):
        load_state_dict(str(tmp_path / '5.state'))
    torch.save(collections.OrderedDict(), tmp_path / 'empty.pth')
    with pytest.raises(CheckpointError, match='not a bare state dict'):
        load_state_dict(str(tmp_path / 'empty.pth'))


def test_build_model_from_checkpoint_names_the_file_on_error(tmp_path):
    torch.save({'params': {'head.weight': torch.zeros(2, 2)}}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointError, match=r'other\.pth: The weights fit neither'):
        build_model_from_checkpoint(str(tmp_path / 'other.pth'))
