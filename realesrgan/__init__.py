"""Real-ESRGAN as a BasicSR plugin: architectures, datasets, models and the RealESRGANer inference helper.

Importing this package is quick: it imports neither torch nor BasicSR. It arranges for the released BasicSR to work on
current torch/torchvision/numpy when BasicSR is first imported, and for BasicSR's registries to hold this package's
architectures, datasets, models and metrics from their first lookup on (:func:`realesrgan.compat.install`). The
names the original exported (``RealESRGANer``, ``arch_modules``, ...) and the subpackages load on first access.
"""

from realesrgan import compat
from realesrgan.discovery import lazy_exports
from realesrgan.version import __gitsha__, __version__, version_info

compat.install()

_EXPORTS = {
    'arch_modules': 'realesrgan.archs',
    'dataset_modules': 'realesrgan.data',
    'model_modules': 'realesrgan.models',
    'DEFAULT_TILE_BLEND': 'realesrgan.inference.tiling',
    'IOConsumer': 'realesrgan.fileio.threads',
    'PrefetchReader': 'realesrgan.fileio.threads',
    'ReadResult': 'realesrgan.fileio.threads',
    'RealESRGANer': 'realesrgan.inference.upsampler',
}
__all__ = ['__gitsha__', '__version__', 'version_info', *_EXPORTS]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
