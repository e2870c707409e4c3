"""A validation set made once from GT images by the training degradation, with a fixed seed.

Validating on bicubic downscales says little about a model trained on Real-ESRGAN's degradations, and degrading
the validation images anew at each validation makes the numbers jump. Here each GT image is degraded once, by
the same :class:`~realesrgan.models.degradation_pipeline.SecondOrderDegradation` and kernel draws
(:meth:`~realesrgan.data.realesrgan_dataset.RealESRGANDataset.draw_kernels`) as training, with the options of a
training config, and written as a GT/LQ pair of folders that BasicSR's ``PairedImageDataset`` reads::

    <output>/gt/<name>.png   the GT, cropped to a multiple of the scale (bottom/right), colour, its bit depth
    <output>/lq/<name>.png   its degraded LQ, 1/scale of the size, 8-bit

The random state of each image is seeded from the seed and the image's name, so an image always gets the same LQ
for the same seed and options, whichever other images are in the folder. The LQ is made from the plain GT (no
USM sharpening): validation measures against the GT itself.
"""

import os
import random
import zlib
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Tuple

import cv2
import numpy as np
import torch
from tqdm import tqdm

from realesrgan.data.realesrgan_dataset import RealESRGANDataset
from realesrgan.fileio.images import read_image, write_image
from realesrgan.inference.image_conversion import color_output
from realesrgan.models.degradation_pipeline import DegradationSettings, SecondOrderDegradation

__all__ = ['PairsSummary', 'make_validation_pairs', 'image_seed']


@dataclass
class PairsSummary:
    """What :func:`make_validation_pairs` did.

    Attributes:
        written: Names (without extension) of the pairs written.
        skipped: ``(path, reason)`` of the GT images that could not be used.
    """

    written: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)


def image_seed(seed: int, name: str) -> int:
    """The seed of one image: from the run's seed and the image's name only."""
    return (seed * 1_000_003 + zlib.crc32(name.encode('utf-8'))) % 2**32


def _colour(img: np.ndarray) -> np.ndarray:
    """A BGR image: gray is repeated, alpha left out (the degradation works on colour images)."""
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img[..., :3] if img.shape[2] == 4 else img


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    """BGR uint8/uint16 (H, W, 3) -> RGB float (1, 3, H, W) in [0, 1]."""
    peak = 65535.0 if img.dtype == np.uint16 else 255.0
    rgb = np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1)).astype(np.float32) / peak
    return torch.from_numpy(rgb).unsqueeze(0)


def _prepare_output(output: str) -> Tuple[str, str]:
    folders = (os.path.join(output, 'gt'), os.path.join(output, 'lq'))
    for folder in folders:
        if os.path.isdir(folder) and os.listdir(folder):
            raise FileExistsError(
                f'{folder} already holds files: choose another output folder, or remove it to make the pairs anew'
            )
    return folders


def make_validation_pairs(
    opt: Mapping[str, Any], gt_folder: str, output: str, seed: int = 0, progress: bool = True
) -> PairsSummary:
    """Degrade every image of ``gt_folder`` once and write the GT/LQ pairs under ``output``.

    Args:
        opt: A training config: its top level gives ``scale`` and the degradation settings, its
            ``datasets.train`` section the kernel settings (the originals' values where keys are missing).
        gt_folder: Folder of GT images.
        output: Folder that gets ``gt/`` and ``lq/``.
        seed: The seed (see :func:`image_seed`).
        progress: Show a progress bar.

    Returns:
        The pairs written and the images skipped with their reasons (unreadable, too small).

    Raises:
        ValueError: Bad degradation settings, or no image in ``gt_folder``.
        FileNotFoundError: ``gt_folder`` does not exist.
        FileExistsError: ``output/gt`` or ``output/lq`` already holds files.
    """
    settings = DegradationSettings.from_options(opt)
    train_opt = (opt.get('datasets') or {}).get('train') or {}
    dataset = RealESRGANDataset(
        dict(train_opt, dataroot_gt=gt_folder, meta_info=None, io_backend={'type': 'disk'}, phase='val')
    )
    gt_out, lq_out = _prepare_output(output)
    degradation = SecondOrderDegradation(settings, torch.device('cpu'))
    scale, summary, names = settings.scale, PairsSummary(), {}
    for path in tqdm(dataset.paths, unit='image', desc='degrading', disable=not progress):
        name = os.path.splitext(os.path.basename(path))[0]
        if name in names:
            summary.skipped.append((path, f'same name as {names[name]}; rename one'))
            continue
        names[name] = path
        try:
            gt = _colour(read_image(path))
            gt = gt[: gt.shape[0] // scale * scale, : gt.shape[1] // scale * scale]
            image_random = image_seed(seed, name)
            random.seed(image_random)
            np.random.seed(image_random)
            torch.manual_seed(image_random)
            kernels = dataset.draw_kernels()
            degraded = degradation.degrade(
                _to_tensor(gt), *(kernels[key][None] for key in ('kernel1', 'kernel2', 'sinc_kernel')), sharpen=False
            )
        except (OSError, ValueError) as error:
            summary.skipped.append((path, ' '.join(str(error).split())))
            continue
        write_image(os.path.join(gt_out, f'{name}.png'), gt)
        write_image(os.path.join(lq_out, f'{name}.png'), color_output(degraded.lq, 255))
        summary.written.append(name)
    return summary
