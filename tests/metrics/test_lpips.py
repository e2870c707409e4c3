"""LPIPS: our loading of the backbone gives the ``lpips`` package's own values; a missing backbone is named.

The ImageNet backbones cannot be downloaded here, so the tests make one (torchvision's AlexNet / SqueezeNet with
seeded random weights) and put it where torchvision keeps its downloads: ``lpips.LPIPS`` loads it from there by
its own code path, and ours from the weights folder.
"""

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch
from basicsr.metrics import calculate_metric
from helpers import distorted

from realesrgan.metrics import LPIPSUnavailableError, get_metric, lpips_distance
from realesrgan.metrics import lpips as lpips_module

lpips = pytest.importorskip('lpips')

BACKBONES = {'alex': 'alexnet', 'squeeze': 'squeezenet1_1'}


@pytest.fixture
def hub_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty torch hub folder for the test (and a cold LPIPS cache)."""
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    lpips_module.load_lpips.cache_clear()
    yield tmp_path / 'hub'
    torch.hub.set_dir(previous)
    lpips_module.load_lpips.cache_clear()


def make_backbone(net: str, folder: Path) -> Path:
    """Seeded random torchvision weights of an LPIPS backbone, saved under torchvision's file name.

    The convolutions (``features``) get He-scaled random weights; the classifier, which LPIPS does not use, zeros
    (AlexNet's 58 million classifier weights would take seconds to initialise).
    """
    from torchvision import models

    with torch.device('meta'):
        shapes = {key: value.shape for key, value in getattr(models, BACKBONES[net])().state_dict().items()}
    generator = torch.Generator().manual_seed(7)
    state = {}
    for key, shape in shapes.items():
        if key.startswith('features') and key.endswith('weight'):
            fan_in = int(np.prod(shape[1:]))
            state[key] = torch.randn(shape, generator=generator) * (2 / fan_in) ** 0.5
        elif key.startswith('features'):
            state[key] = torch.randn(shape, generator=generator) * 0.01
        else:
            state[key] = torch.zeros(shape)
    name, _ = lpips_module.backbone_file(net)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / name)
    return folder / name


def package_value(model: torch.nn.Module, img: np.ndarray, ref: np.ndarray) -> float:
    """The lpips package's own call: RGB tensors in [0, 1] with ``normalize=True``."""

    def rgb(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1)) / 255.0).float()[None]

    with torch.no_grad():
        return model(rgb(img), rgb(ref), normalize=True).item()


@pytest.mark.filterwarnings('ignore::UserWarning')  # torchvision's deprecation of the pretrained= argument lpips uses
@pytest.mark.parametrize('net', [pytest.param('alex', marks=pytest.mark.slow), 'squeeze'])
def test_lpips_equals_the_lpips_package_on_the_same_backbone(samples, hub_dir, tmp_path, net):
    weights_dir = tmp_path / 'weights'
    backbone = make_backbone(net, weights_dir)
    (hub_dir / 'checkpoints').mkdir(parents=True)
    (hub_dir / 'checkpoints' / backbone.name).write_bytes(backbone.read_bytes())
    reference = lpips.LPIPS(net=net, verbose=False).eval()  # loads the backbone through torchvision's hub cache
    for name in ('astronaut', 'chelsea'):
        gt = samples[name]
        for kind in ('blur', 'noise'):
            out = distorted(gt, kind)
            ours = lpips_distance(gt, out, net=net, weights_dir=str(weights_dir))
            assert ours == pytest.approx(package_value(reference, out, gt), abs=1e-6)
            assert ours > 0
        assert lpips_distance(gt, gt, net=net, weights_dir=str(weights_dir)) == pytest.approx(0, abs=1e-6)
    gt, out = samples['astronaut'], distorted(samples['astronaut'], 'jpeg')
    cropped = lpips_distance(gt, out, net=net, crop_border=4, weights_dir=str(weights_dir))
    assert cropped == pytest.approx(package_value(reference, out[4:-4, 4:-4], gt[4:-4, 4:-4]), abs=1e-6)
    # 16-bit images are measured as their 8-bit content
    deep = lpips_distance(
        gt.astype(np.uint16) * 257, out.astype(np.uint16) * 257, net=net, weights_dir=str(weights_dir)
    )
    assert deep == pytest.approx(lpips_distance(gt, out, net=net, weights_dir=str(weights_dir)), abs=1e-6)


def test_lpips_in_validation_and_by_name(samples, hub_dir, tmp_path):
    make_backbone('squeeze', hub_dir / 'checkpoints')  # where torchvision keeps it: found without a weights folder
    gt, out = samples['chelsea'], distorted(samples['chelsea'], 'blur')
    expected = lpips_distance(gt, out, net='squeeze', weights_dir=str(tmp_path / 'none'))
    options = {'type': 'calculate_lpips', 'crop_border': 0, 'net': 'squeeze', 'better': 'lower'}
    assert calculate_metric({'img': out, 'img2': gt}, options) == pytest.approx(expected, abs=1e-6)
    metric = get_metric('lpips', lpips_net='squeeze', weights_dir=str(tmp_path / 'none'))
    assert metric.full_reference and metric.lower_better and metric(out, gt) == pytest.approx(expected, abs=1e-6)
    gray = samples['camera']
    assert lpips_distance(gray, distorted(gray, 'blur'), net='squeeze') > 0


def test_a_missing_backbone_names_the_file_and_where_to_put_it(hub_dir, tmp_path, monkeypatch):
    def offline(url: str, folder: str, **_options) -> str:
        raise OSError(f'download of {url} failed: no network')

    monkeypatch.setattr('realesrgan.zoo.downloads.download_weights', offline)
    with pytest.raises(LPIPSUnavailableError) as error:
        get_metric('lpips', weights_dir=str(tmp_path / 'weights'))
    message = str(error.value)
    assert 'alexnet-owt-7be5be79.pth' in message and 'no network' in message
    assert str(hub_dir / 'checkpoints' / 'alexnet-owt-7be5be79.pth') in message
    assert str(tmp_path / 'weights' / 'alexnet-owt-7be5be79.pth') in message
    assert 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth' in message
    (tmp_path / 'weights').mkdir()
    (tmp_path / 'weights' / 'alexnet-owt-7be5be79.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(LPIPSUnavailableError, match='Cannot read the LPIPS backbone'):
        get_metric('lpips', weights_dir=str(tmp_path / 'weights'))
    with pytest.raises(ValueError, match='alex, vgg, squeeze'):
        lpips_module.load_lpips('resnet')
