"""Worker: the original ``realesrgan==0.3.0`` package, run with its own virtual environment's Python.

Started by ``inference_benchmark.py``, ``training_speed.py`` and ``video_fps.py`` as ``<original venv>/bin/python
-E -s -m benchlib.original_worker job.json`` from ``benchmarks/`` (see :mod:`benchlib.original_env`). This file must
not import the project's ``realesrgan``: the name resolves to the original package installed in that environment, and
:func:`check_original_package` refuses to measure anything else. The original cannot even be imported on current
torchvision, and its training model hard-codes CUDA, so the harness adjusts the running interpreter (never the
installed files):

* ``torchvision.transforms.functional_tensor`` is registered as an alias of ``torchvision.transforms.functional``
  before BasicSR is imported (the import that fails for every user of the original today);
* BasicSR's ``filter2D`` gets contiguous inputs (it calls ``.view`` on the non-contiguous output of ``DiffJPEG``
  and fails on current torch right after the first JPEG step of the degradation pipeline);
* for the degradation task only, ``Tensor.cuda`` and ``Module.cuda`` return their object unchanged, so the
  model's hard-coded ``.cuda()`` calls keep everything on the CPU.
"""

import os
import runpy
import sys
import sysconfig
import time
import types
from typing import Any, Dict

import numpy as np
import torch

from benchlib.measure import reseeded, run_worker, time_calls, torch_threads
from benchlib.original_env import ORIGINAL_VERSION, WORKER_FLAGS


def install_functional_tensor_alias() -> None:
    """Register the module name that BasicSR 1.4.2 imports and torchvision >= 0.17 no longer has."""
    name = 'torchvision.transforms.functional_tensor'
    try:
        __import__(name)
    except ImportError:
        from torchvision.transforms import functional

        alias = types.ModuleType(name)
        alias.rgb_to_grayscale = functional.rgb_to_grayscale
        sys.modules[name] = alias


def make_filter2d_contiguous() -> None:
    """Wrap ``basicsr.utils.img_process_util.filter2D`` so that it accepts non-contiguous tensors.

    Must run before the original ``realesrgan`` is imported: its model module binds ``filter2D`` at import time.
    """
    import basicsr.utils.img_process_util as img_process_util

    original_filter2d = img_process_util.filter2D

    def filter2d(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return original_filter2d(img.contiguous(), kernel.contiguous())

    img_process_util.filter2D = filter2d


def keep_cuda_calls_on_cpu() -> None:
    """Make ``.cuda()`` on tensors and modules a no-op, for code that hard-codes it (this process only)."""

    def stay(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self

    torch.Tensor.cuda = stay
    torch.nn.Module.cuda = stay


def check_original_package() -> str:
    """Import ``realesrgan`` and make sure it is the original package of this environment; return its file.

    Raises:
        SystemExit: It is another package (this project, say), so nothing measured here would be the original's.
    """
    import realesrgan
    import realesrgan.version  # `from .version import *` in the package leaves __version__ out

    own_site = os.path.realpath(sysconfig.get_paths()['purelib'])
    location = os.path.realpath(realesrgan.__file__)
    version = getattr(realesrgan.version, '__version__', None)
    if version != ORIGINAL_VERSION or not location.startswith(own_site + os.sep):
        sys.exit(
            f'this environment imports realesrgan {version} from {location}, not the original {ORIGINAL_VERSION} '
            f'from {own_site}: run it as "python {" ".join(WORKER_FLAGS)} -m benchlib.original_worker" from '
            'benchmarks/, or delete the environment and let the benchmark remake it'
        )
    return location


def build_arch(arch: str, kwargs: Dict[str, Any]) -> torch.nn.Module:
    """Build the network the original package would use for a model: BasicSR's RRDBNet or its SRVGGNetCompact."""
    if arch == 'RRDBNet':
        from basicsr.archs.rrdbnet_arch import RRDBNet

        return RRDBNet(**kwargs)
    if arch == 'SRVGGNetCompact':
        from realesrgan.archs.srvgg_arch import SRVGGNetCompact

        return SRVGGNetCompact(**kwargs)
    raise ValueError(f'unknown architecture {arch!r} (expected RRDBNet or SRVGGNetCompact)')


def run_inference(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``inference`` task: the original ``RealESRGANer.enhance`` on ``job['input']`` (fp32, CPU)."""
    threads = torch_threads(job)
    package_file = check_original_package()
    from realesrgan import RealESRGANer

    upsampler = RealESRGANer(
        scale=job['netscale'],
        model_path=job['model_path'],
        model=build_arch(job['arch'], job['arch_kwargs']),
        tile=job['tile'],
        tile_pad=job['tile_pad'],
        pre_pad=job['pre_pad'],
        half=False,
        device=torch.device('cpu'),
    )
    img = np.load(job['input'])
    times, (output, _) = time_calls(lambda: upsampler.enhance(img, outscale=job['netscale']), job['repeats'])
    np.save(job['output'], output)
    return {'times': times, 'threads': threads, 'package_file': package_file}


def run_degradation(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``degradation`` task: the original ``RealESRGANModel.feed_data`` on a saved batch."""
    threads = torch_threads(job)
    keep_cuda_calls_on_cpu()
    package_file = check_original_package()
    from realesrgan.models.realesrgan_model import RealESRGANModel

    model = RealESRGANModel(job['opt'])
    batch = {key: torch.from_numpy(value) for key, value in np.load(job['batch']).items()}
    times, _ = time_calls(reseeded(lambda: model.feed_data(batch), job['seed']), job['repeats'])
    np.save(job['output'], model.lq.numpy())
    return {'times': times, 'threads': threads, 'package_file': package_file}


def run_script(job: Dict[str, Any]) -> Dict[str, Any]:
    """Handler of the ``script`` task: one of the original's scripts, run as ``__main__`` in this process.

    The job gives the ``script`` (the harness's copy), its ``argv``, the working folder ``cwd`` (the script finds
    its weights in ``weights/`` there) and ``path_prefix``, a folder put first on ``PATH`` (the programs the
    script calls). The script runs once; ``times`` holds its wall time.
    """
    threads = torch_threads(job)
    package_file = check_original_package()
    os.chdir(job['cwd'])
    os.environ['PATH'] = job['path_prefix'] + os.pathsep + os.environ.get('PATH', '')
    sys.argv = [job['script'], *job['argv']]
    start = time.perf_counter()
    try:
        runpy.run_path(job['script'], run_name='__main__')
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise
    return {'times': [time.perf_counter() - start], 'threads': threads, 'package_file': package_file}


if __name__ == '__main__':
    install_functional_tensor_alias()
    make_filter2d_contiguous()
    run_worker({'inference': run_inference, 'degradation': run_degradation, 'script': run_script})
