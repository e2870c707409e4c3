"""LPIPS (learned perceptual image patch similarity, lower is better) with the ``lpips`` package's calibrated layers.

The ``lpips`` wheel ships the linear layers calibrated on human judgements (``weights/v0.1/alex.pth`` ...), but
the backbone (AlexNet, VGG16 or SqueezeNet 1.1 with ImageNet weights) comes from a torchvision download at run
time. Here the backbone file is looked for where torchvision keeps it (torch hub's ``checkpoints`` folder) and in
the weights folder, downloaded once into torch hub's folder when missing, and otherwise named in a clear error
with the places to put it. The network itself is the package's own ``lpips.LPIPS``: only where its backbone
weights come from differs.
"""

import functools
import os
import warnings
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from realesrgan.metrics.image_range import cropped, peak_of, rgb_batch
from realesrgan.zoo import resolve_weights_dir

__all__ = ['LPIPS_NETS', 'LPIPSUnavailableError', 'backbone_file', 'find_backbone', 'load_lpips', 'lpips_distance']

LPIPS_NETS = ('alex', 'vgg', 'squeeze')
INSTALL_HINT = 'pip install lpips (or pip install -e ".[metrics]")'


class LPIPSUnavailableError(RuntimeError):
    """LPIPS cannot be computed here (no ``lpips`` package, or no backbone weights); the message says what to do."""


def _lpips_module():  # noqa: ANN202 (the optional package's module)
    try:
        import lpips
    except ImportError:
        raise LPIPSUnavailableError(f'LPIPS needs the lpips package: {INSTALL_HINT}') from None
    return lpips


def backbone_file(net: str) -> Tuple[str, str]:
    """The torchvision file of an LPIPS backbone and its download URL.

    Args:
        net: ``'alex'``, ``'vgg'`` or ``'squeeze'``.

    Returns:
        ``(file name, url)``, e.g. ``('alexnet-owt-7be5be79.pth', 'https://download.pytorch.org/...')``.

    Raises:
        ValueError: Unknown ``net``.
    """
    from torchvision import models

    weights = {
        'alex': models.AlexNet_Weights.IMAGENET1K_V1,
        'vgg': models.VGG16_Weights.IMAGENET1K_V1,
        'squeeze': models.SqueezeNet1_1_Weights.IMAGENET1K_V1,
    }
    if net not in weights:
        raise ValueError(f'LPIPS net must be one of {", ".join(LPIPS_NETS)}, not {net!r}')
    url = weights[net].url
    return os.path.basename(url), url


def _hub_checkpoints() -> str:
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def find_backbone(net: str, weights_dir: Optional[str] = None) -> Optional[str]:
    """The backbone file of ``net`` in ``weights_dir`` or torch hub's ``checkpoints`` folder, or None.

    Args:
        net: ``'alex'``, ``'vgg'`` or ``'squeeze'``.
        weights_dir: The weights folder; None for the default location (:func:`realesrgan.zoo.resolve_weights_dir`).
    """
    name, _ = backbone_file(net)
    candidates = (os.path.join(resolve_weights_dir(weights_dir), name), os.path.join(_hub_checkpoints(), name))
    return next((path for path in candidates if os.path.isfile(path)), None)


def _backbone_path(net: str, weights_dir: Optional[str], download: bool) -> str:
    """Find the backbone, or download it into torch hub's folder, or fail saying where to put it."""
    weights_dir = resolve_weights_dir(weights_dir)
    found = find_backbone(net, weights_dir)
    if found:
        return found
    name, url = backbone_file(net)
    reason = 'downloads are off'
    if download:
        from realesrgan.zoo.downloads import download_weights

        try:
            return download_weights(url, _hub_checkpoints(), progress=False)
        except OSError as error:
            reason = str(error)
    raise LPIPSUnavailableError(
        f'LPIPS ({net}) needs the ImageNet backbone weights {name}, which are not on this machine ({reason}). '
        f'Download {url} elsewhere and put it at {os.path.join(_hub_checkpoints(), name)} or '
        f'{os.path.join(os.path.abspath(weights_dir), name)}.'
    )


def _load_backbone(trunk: torch.nn.Module, state: Dict[str, torch.Tensor], path: str) -> None:
    """Copy torchvision ``features.<i>.*`` weights into the slices of an LPIPS trunk (``slice<k>.<i>.*``)."""
    wanted = {}
    for key in trunk.state_dict():
        _, rest = key.split('.', 1)  # slice<k>.<i>.<param> -> <i>.<param>
        source = f'features.{rest}'
        if source not in state:
            raise LPIPSUnavailableError(f'{path} is not the torchvision backbone LPIPS needs: it has no {source}')
        wanted[key] = state[source]
    trunk.load_state_dict(wanted)


@functools.lru_cache(maxsize=4)
def load_lpips(
    net: str = 'alex', weights_dir: Optional[str] = None, download: bool = True, device: str = 'cpu'
) -> torch.nn.Module:
    """The ``lpips.LPIPS`` network (version 0.1) with its calibrated layers and the ImageNet backbone, in eval mode.

    Built once per argument set and shared.

    Args:
        net: Backbone: ``'alex'`` (the LPIPS authors' default), ``'vgg'`` or ``'squeeze'``.
        weights_dir: Also searched for the backbone file (besides torch hub's ``checkpoints`` folder).
        download: Try to download a missing backbone file into torch hub's folder.
        device: Where the network runs.

    Raises:
        LPIPSUnavailableError: No ``lpips`` package, or no backbone weights (the message names the file and where to
            put it).
        ValueError: Unknown ``net``.
    """
    backbone_file(net)  # checks the name before anything is built
    lpips = _lpips_module()
    path = _backbone_path(net, weights_dir, download)
    with warnings.catch_warnings():  # torchvision's deprecation of the pretrained= argument that lpips passes
        warnings.simplefilter('ignore', UserWarning)
        model = lpips.LPIPS(net=net, version='0.1', pnet_rand=True, verbose=False)  # trunk weights loaded next
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # any unreadable file gets the same advice
        raise LPIPSUnavailableError(f'Cannot read the LPIPS backbone {path}: {error}; download it again') from error
    _load_backbone(model.net, state, path)
    return model.eval().requires_grad_(False).to(device)


def _to_tensor(img: np.ndarray, peak: float, device: str) -> torch.Tensor:
    """A (H, W) or (H, W, 3) BGR image as the (1, 3, H, W) RGB tensor in [-1, 1] that LPIPS takes."""
    rgb = rgb_batch(np.asarray(img, dtype=np.float64) / peak, 'LPIPS takes')
    return torch.from_numpy(rgb).float().to(device) * 2 - 1


def lpips_distance(
    reference: np.ndarray,
    other: np.ndarray,
    net: str = 'alex',
    data_range: Optional[float] = None,
    crop_border: int = 0,
    weights_dir: Optional[str] = None,
    device: str = 'cpu',
) -> float:
    """LPIPS distance between two images (0 for identical images; lower is better).

    Args:
        reference: The reference image, (H, W) gray or (H, W, 3) BGR; uint8, uint16 or float.
        other: The image to compare, same shape.
        net: Backbone (see :func:`load_lpips`).
        data_range: The peak value; by default 255 for uint8, 65535 for uint16 and 1 for float images.
        crop_border: Pixels cut from each border before measuring.
        weights_dir: Also searched for the backbone file.
        device: Where the network runs.

    Raises:
        LPIPSUnavailableError: See :func:`load_lpips`.
        ValueError: The shapes differ, or the images are not gray or 3-channel.
    """
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f'Cannot compare images of shapes {reference.shape} and {other.shape}.')
    reference, other = cropped(reference, crop_border), cropped(other, crop_border)
    model = load_lpips(net, weights_dir, True, device)
    peak = peak_of(reference, data_range)
    with torch.no_grad():
        distance = model(_to_tensor(other, peak, device), _to_tensor(reference, peak, device))
    return float(distance.item())
