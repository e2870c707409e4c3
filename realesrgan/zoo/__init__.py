"""Pretrained weights: the model zoo, the architecture families, checkpoint loading with detection, offline weights.

* :mod:`~realesrgan.zoo.families`: the generator families, one descriptor each (:data:`FAMILIES`, :class:`ArchInfo`).
* :mod:`~realesrgan.zoo.table`: every official model (:data:`MODEL_ZOO`, :func:`get_model_spec`).
* :mod:`~realesrgan.zoo.traits`: what a network needs from its input and which precisions it tolerates.
* :mod:`~realesrgan.zoo.detect`: which network a state dict belongs to (:func:`detect_architecture`,
  :func:`load_network`).
* :mod:`~realesrgan.zoo.checkpoint`: reading ``.pth`` / ``.safetensors`` checkpoints, writing the official layout.
* :mod:`~realesrgan.zoo.esrgan_layouts`: community ESRGAN checkpoints of the older key layouts, renamed for RRDBNet.
* :mod:`~realesrgan.zoo.spandrel_models`: every other architecture through spandrel (the ``models`` extra).
* :mod:`~realesrgan.zoo.ncnn`: ncnn ``.param``/``.bin`` to PyTorch conversion.
* :mod:`~realesrgan.zoo.location`: the one weights folder (:func:`default_weights_location`, :data:`WEIGHTS_ENV`).
* :mod:`~realesrgan.zoo.weights`: local file, cache, checked download or ncnn conversion (:func:`resolve_model_path`).
"""

from realesrgan.zoo.checkpoint import CheckpointError, load_state_dict, save_checkpoint
from realesrgan.zoo.detect import build_model_from_checkpoint, detect_architecture, load_network
from realesrgan.zoo.families import FAMILIES, OFFICIAL_PARAM_KEY, ArchFamily, ArchInfo, build_arch
from realesrgan.zoo.location import WEIGHTS_ENV, WeightsLocation, default_weights_location, resolve_weights_dir
from realesrgan.zoo.ncnn import NcnnConversion, NcnnFormatError, convert_ncnn
from realesrgan.zoo.table import MODEL_ZOO, ModelSpec, get_model_spec
from realesrgan.zoo.traits import ModelTraits
from realesrgan.zoo.weights import WeightsNotFoundError, resolve_model_path

__all__ = [
    'FAMILIES',
    'MODEL_ZOO',
    'OFFICIAL_PARAM_KEY',
    'WEIGHTS_ENV',
    'ArchFamily',
    'ArchInfo',
    'CheckpointError',
    'ModelSpec',
    'ModelTraits',
    'NcnnConversion',
    'NcnnFormatError',
    'WeightsLocation',
    'WeightsNotFoundError',
    'build_arch',
    'build_model_from_checkpoint',
    'convert_ncnn',
    'default_weights_location',
    'detect_architecture',
    'get_model_spec',
    'load_network',
    'load_state_dict',
    'resolve_model_path',
    'resolve_weights_dir',
    'save_checkpoint',
]
