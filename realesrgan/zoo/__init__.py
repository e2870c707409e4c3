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
* :mod:`~realesrgan.zoo.downloads`: local file, cache, checked download or ncnn conversion (:func:`resolve_model_path`).
"""

from realesrgan.discovery import lazy_exports

# every name loads its module on first use: the command lines read MODEL_ZOO without importing torch
_EXPORTS = {
    'ArchFamily': 'realesrgan.zoo.families',
    'ArchInfo': 'realesrgan.zoo.families',
    'CheckpointError': 'realesrgan.zoo.checkpoint',
    'FAMILIES': 'realesrgan.zoo.families',
    'MODEL_ZOO': 'realesrgan.zoo.table',
    'ModelSpec': 'realesrgan.zoo.table',
    'ModelTraits': 'realesrgan.zoo.traits',
    'NcnnConversion': 'realesrgan.zoo.ncnn',
    'NcnnFormatError': 'realesrgan.zoo.ncnn',
    'OFFICIAL_PARAM_KEY': 'realesrgan.zoo.families',
    'WEIGHTS_ENV': 'realesrgan.zoo.location',
    'WeightsLocation': 'realesrgan.zoo.location',
    'WeightsNotFoundError': 'realesrgan.zoo.downloads',
    'build_arch': 'realesrgan.zoo.families',
    'build_model_from_checkpoint': 'realesrgan.zoo.detect',
    'convert_ncnn': 'realesrgan.zoo.ncnn',
    'default_weights_location': 'realesrgan.zoo.location',
    'detect_architecture': 'realesrgan.zoo.detect',
    'get_model_spec': 'realesrgan.zoo.table',
    'load_network': 'realesrgan.zoo.detect',
    'load_state_dict': 'realesrgan.zoo.checkpoint',
    'resolve_model_path': 'realesrgan.zoo.downloads',
    'resolve_weights_dir': 'realesrgan.zoo.location',
    'save_checkpoint': 'realesrgan.zoo.checkpoint',
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
