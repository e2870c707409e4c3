"""Checkpoint files: .safetensors wherever a .pth is accepted (told by content, not name), .pth still weights_only."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.zoo import CheckpointError, build_model_from_checkpoint, load_state_dict
from realesrgan.zoo.checkpoint import is_safetensors


def small_net(seed: int) -> SRVGGNetCompact:
    torch.manual_seed(seed)
    return SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2).eval()


def test_safetensors_are_told_by_their_content(tmp_path):
    state_dict = small_net(0).state_dict()
    named = tmp_path / 'net.safetensors'
    misnamed = tmp_path / 'net.pth'  # a safetensors file under a .pth name still reads
    for path in (named, misnamed):
        save_file(state_dict, str(path))
    torch.save({'params': state_dict}, tmp_path / 'real.pth')
    assert (
        is_safetensors(str(named)) and is_safetensors(str(misnamed)) and not is_safetensors(str(tmp_path / 'real.pth'))
    )
    for path in (named, misnamed, tmp_path / 'real.pth'):
        loaded = load_state_dict(str(path))
        assert sorted(loaded) == sorted(state_dict)  # safetensors keeps the keys sorted
        assert all(torch.equal(loaded[key], value) for key, value in state_dict.items())
    model, info = build_model_from_checkpoint(str(named))
    assert info.arch == 'SRVGGNetCompact' and info.netscale == 2


def test_bad_safetensors_get_one_line_reasons(tmp_path):
    path = tmp_path / 'cut.safetensors'
    save_file(small_net(0).state_dict(), str(path))
    path.write_bytes(path.read_bytes()[:200])  # cut short: the header promises more than the file has
    with pytest.raises(CheckpointError, match='damaged safetensors file'):
        load_state_dict(str(path))
    save_file(small_net(0).state_dict(), str(path))
    with pytest.raises(CheckpointError, match="one flat state dict: it has no 'params' entry"):
        load_state_dict(str(path), 'params')


class Payload:
    """An object that a weights-only load must refuse to rebuild (unpickling it could run code)."""


def test_pth_files_are_still_read_weights_only(tmp_path):
    path = tmp_path / 'pickled.pth'
    torch.save({'params': small_net(0).state_dict(), 'payload': Payload()}, path)
    with pytest.raises(CheckpointError, match='cannot be loaded safely|not a PyTorch checkpoint'):
        load_state_dict(str(path))


def test_weights_under_other_tools_entries_are_found(tmp_path):
    state_dict = small_net(0).state_dict()
    torch.save({'state_dict': state_dict, 'epoch': 7}, tmp_path / 'lightning.pth')
    assert list(load_state_dict(str(tmp_path / 'lightning.pth'))) == list(state_dict)


def test_dni_blends_safetensors_as_it_blends_pth(tmp_path):
    paths = {}
    for seed in (0, 1):
        state_dict = small_net(seed).state_dict()
        paths[seed, 'pth'] = str(tmp_path / f'{seed}.pth')
        torch.save({'params': state_dict}, paths[seed, 'pth'])
        paths[seed, 'st'] = str(tmp_path / f'{seed}.safetensors')
        save_file(state_dict, paths[seed, 'st'])
    img = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    outputs = []
    for kind in ('pth', 'st'):
        upsampler = RealESRGANer(
            2, [paths[0, kind], paths[1, kind]], [0.3, 0.7], model=small_net(5), pre_pad=0, device='cpu'
        )
        outputs.append(upsampler.enhance(img)[0])
    assert outputs[0].shape == (24, 20, 3) and np.array_equal(outputs[0], outputs[1])
