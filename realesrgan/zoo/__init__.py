"""Pretrained weights: the model zoo, checkpoint loading with architecture detection, and offline weights.

* :mod:`~realesrgan.zoo.table`: every official model (:data:`MODEL_ZOO`, :func:`get_model_spec`).
* :mod:`~realesrgan.zoo.detect`: which network a state dict belongs to (:func:`detect_architecture`).
* :mod:`~realesrgan.zoo.checkpoint`: reading/writing checkpoints in the official layout.
* :mod:`~realesrgan.zoo.ncnn`: ncnn ``.param``/``.bin`` to PyTorch conversion.
* :mod:`~realesrgan.zoo.weights`: local file, cache, download or ncnn conversion (:func:`resolve_model_path`).
"""
from realesrgan.zoo.builders import OFFICIAL_PARAM_KEY, build_arch
from realesrgan.zoo.checkpoint import CheckpointError, load_state_dict, save_checkpoint
from realesrgan.zoo.detect import ArchInfo, build_model_from_checkpoint, detect_architecture
from realesrgan.zoo.ncnn import NcnnConversion, NcnnFormatError, convert_ncnn
from realesrgan.zoo.table import MODEL_ZOO, ModelSpec, get_model_spec
from realesrgan.zoo.weights import WeightsNotFoundError, resolve_model_path

__all__ = [
    'MODEL_ZOO', 'OFFICIAL_PARAM_KEY', 'ArchInfo', 'CheckpointError', 'ModelSpec', 'NcnnConversion', 'NcnnFormatError',
    'WeightsNotFoundError', 'build_arch', 'build_model_from_checkpoint', 'convert_ncnn', 'detect_architecture',
    'get_model_spec', 'load_state_dict', 'resolve_model_path', 'save_checkpoint'
]
