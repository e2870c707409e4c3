"""Real-ESRGAN as a BasicSR plugin: architectures, datasets, models and the RealESRGANer inference helper.

Importing this package first makes the released BasicSR work on current torch/torchvision/numpy
(:mod:`realesrgan.compat`), then registers the architectures, datasets and models in BasicSR's registries.
"""

# flake8: noqa
from realesrgan import compat

compat.apply()

from .archs import *
from .data import *
from .models import *
from . import metrics  # registers calculate_lpips and calculate_pyiqa for val.metrics
from .version import *
from .utils import *
