"""The training command's modules: the run (:mod:`~realesrgan.training.run`), the experiment lock, the option and
config checks, the validation pairs and the held-out pairs. BasicSR's models live in :mod:`realesrgan.models`."""
