"""Checks of a training config's validation metrics and TensorBoard logger, made before training starts.

BasicSR calls each ``val.metrics`` entry only at the first validation, after ``val_freq`` iterations of training:
a misspelt type, a missing argument (``crop_border`` of ``calculate_psnr``), LPIPS without its backbone weights,
NIQE on images too small for it, or ``use_tb_logger`` without the ``tensorboard`` package would stop the run
there. These checks find each of them when the options are read, with the list of valid names or what to do.
"""

import importlib.util
import inspect
import os
from typing import Any, Callable, Mapping

from basicsr.utils.registry import METRIC_REGISTRY

from realesrgan.fileio.images import list_images
from realesrgan.metrics.basicsr_metrics import default_device
from realesrgan.metrics.lpips import LPIPSUnavailableError, load_lpips
from realesrgan.metrics.niqe import niqe_size_problem
from realesrgan.metrics.pyiqa_metrics import PyiqaUnavailableError, load_pyiqa_metric

__all__ = ['check_tensorboard_logger', 'check_validation_metrics', 'metric_types']

Fail = Callable[[str, str], None]  # fail(dotted option path, problem): raises


def metric_types() -> str:
    """The metric types a ``val.metrics`` entry can name, comma-separated (BasicSR's and this package's)."""
    return ', '.join(sorted(name for name, _ in METRIC_REGISTRY))


def _metric_function(path: str, entry: Any, fail: Fail) -> Callable:
    if not isinstance(entry, Mapping) or 'type' not in entry:
        fail(
            path, f'must be a section with the metric type, e.g. "type: calculate_psnr"; the types are {metric_types()}'
        )
    name = entry['type']
    if not isinstance(name, str) or name not in METRIC_REGISTRY:
        fail(f'{path}.type', f'is {name!r}, which is not a metric; the metric types are {metric_types()}')
    return METRIC_REGISTRY.get(name)


def _check_niqe_sizes(path: str, crop_border: int, opt: Mapping[str, Any], fail: Fail) -> None:
    """NIQE measures the outputs (LQ size x scale): each validation LQ image on disk must give a large enough one."""
    from PIL import Image  # a torchvision dependency; reads the size from the header only

    scale = int(opt.get('scale', 1))
    for phase, dataset in (opt.get('datasets') or {}).items():
        if not str(phase).startswith('val') or not isinstance(dataset, Mapping):
            continue
        folder = dataset.get('dataroot_lq')
        if (dataset.get('io_backend') or {}).get('type', 'disk') != 'disk' or not folder or not os.path.isdir(folder):
            continue
        for name in list_images(folder):
            try:
                with Image.open(os.path.join(folder, name)) as img:
                    width, height = img.size
            except OSError:
                continue  # the dataset reports unreadable files itself
            problem = niqe_size_problem(height * scale, width * scale, crop_border)
            if problem:
                fail(
                    path,
                    f'cannot measure the outputs of datasets.{phase}: {problem} ({os.path.join(folder, name)} '
                    f'x{scale}); validate on larger images or leave NIQE out',
                )


def check_validation_metrics(opt: Mapping[str, Any], fail: Fail) -> None:
    """Check every ``val.metrics`` entry: a registered type, arguments it takes, its network and image sizes.

    Args:
        opt: The options dict.
        fail: Called with (dotted option path, problem) for the first problem found; raises.
    """
    metrics = (opt.get('val') or {}).get('metrics') or {}
    if not isinstance(metrics, Mapping):
        fail('val.metrics', 'must be a section of metrics, e.g. "psnr: {type: calculate_psnr, crop_border: 4}"')
    for key, entry in metrics.items():
        path = f'val.metrics.{key}'
        function = _metric_function(path, entry, fail)
        args = {name: value for name, value in entry.items() if name != 'type'}
        try:
            inspect.signature(function).bind(img=None, img2=None, **args)
        except TypeError as error:
            fail(path, f'cannot be computed by {entry["type"]}: {error}')
        if args.get('better', 'higher') not in ('higher', 'lower'):
            fail(f'{path}.better', f'is {args["better"]!r}; it is higher or lower (which values are better)')
        device = default_device()
        try:
            if entry['type'] == 'calculate_lpips':
                load_lpips(args.get('net', 'alex'), device=device)
            elif entry['type'] == 'calculate_pyiqa':
                load_pyiqa_metric(str(args.get('metric', '')), device)
        except (LPIPSUnavailableError, PyiqaUnavailableError, ValueError) as error:
            fail(path, str(error))
        if entry['type'] == 'calculate_niqe':
            _check_niqe_sizes(path, int(args.get('crop_border', 0)), opt, fail)


def check_tensorboard_logger(opt: Mapping[str, Any], fail: Fail) -> None:
    """``logger.use_tb_logger`` needs the ``tensorboard`` package (BasicSR skips TensorBoard in debug runs).

    Args:
        opt: The options dict.
        fail: Called with (dotted option path, problem); raises.
    """
    logger = opt.get('logger') or {}
    if not logger.get('use_tb_logger') or 'debug' in str(opt.get('name', '')):
        return
    if importlib.util.find_spec('tensorboard') is None:
        fail(
            'logger.use_tb_logger',
            'is true, but the tensorboard package is not installed: pip install tensorboard (or pip install -e '
            '".[tensorboard]"), or set use_tb_logger: false',
        )
