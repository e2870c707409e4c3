"""What the image job and the video job share: their common options, their worker devices, and how setup errors
reach the user."""

import argparse
import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, Iterator, List, Mapping, Optional, Type, Union

from realesrgan.execution.local_pool import worker_devices
from realesrgan.inference.face_enhance import FaceEnhanceUnavailable
from realesrgan.inference.model_choice import ModelChoice, choose_model
from realesrgan.inference.settings import SettingError, UpscaleSettings, fields_from
from realesrgan.zoo.table import get_model_spec

__all__ = ['JobSetupError', 'UpscaleJob', 'job_devices', 'reported_as']


class JobSetupError(ValueError):
    """A job cannot start; the message says what was wrong and what to do."""


@contextlib.contextmanager
def reported_as(error_type: Type[JobSetupError]) -> Iterator[None]:
    """Turn the errors of setting a job up into ``error_type`` with a one-line message (flags named as flags).

    Args:
        error_type: The job's setup error.

    Raises:
        JobSetupError: For a bad setting, an unknown model, missing weights or a missing GFPGAN.
    """
    try:
        yield
    except SettingError as error:
        raise error_type(error.as_flag()) from None
    except (ValueError, OSError, FaceEnhanceUnavailable) as error:
        raise error_type(str(error)) from None


@dataclass(frozen=True)
class UpscaleJob:
    """The options every upscaling job has (the flags both CLIs share); the engine settings are in ``settings``."""

    setup_error: ClassVar[Type[JobSetupError]] = JobSetupError
    # fields that are settings objects of their own, each made from the same flags
    nested: ClassVar[Dict[str, Callable[[Mapping[str, Any]], Any]]] = {'settings': UpscaleSettings.from_args}

    input: str = 'inputs'
    model_name: Optional[str] = None
    output: str = 'results'
    denoise_strength: float = 0.5
    model_path: Optional[str] = None
    suffix: str = 'out'
    face_enhance: bool = False
    ext: str = 'auto'
    weights_dir: Optional[str] = None  # None: the default location (realesrgan.zoo.default_weights_location)
    num_process_per_gpu: int = 1
    settings: UpscaleSettings = field(default_factory=UpscaleSettings)
    # None: on this machine; 'local': an embedded local Ray instance; else a Ray cluster's address (--ray)
    ray: Optional[str] = None

    def __post_init__(self) -> None:
        if self.model_name is not None:
            get_model_spec(self.model_name)  # an unknown name is refused here, before anything loads the engine

    @classmethod
    def from_args(cls, args: Union[argparse.Namespace, Mapping[str, Any]]) -> 'UpscaleJob':
        """The job of a command line (flags named as the fields; the engine flags go into ``settings``).

        Raises:
            JobSetupError: A flag has a value it cannot take (the job's own subclass).
        """
        values = vars(args) if isinstance(args, argparse.Namespace) else args
        with reported_as(cls.setup_error):
            nested = {name: make(values) for name, make in cls.nested.items()}
            return cls(**nested, **fields_from(cls, values, exclude=tuple(nested)))

    def choose_model(self) -> ModelChoice:
        """The job's model with its local weights (found, downloaded or converted now)."""
        return choose_model(self.model_name, self.model_path, self.denoise_strength, self.weights_dir)


def job_devices(settings: UpscaleSettings, num_process_per_gpu: int) -> List[str]:
    """One device per worker process, ``num_process_per_gpu`` on each device.

    ``auto`` / ``cuda`` (without ``gpu_id``) spread over every CUDA GPU, a comma-separated list
    (``'cuda:0,cuda:1'``) uses each device listed, one device is used alone.

    Args:
        settings: The engine settings (``device``, ``gpu_id``).
        num_process_per_gpu: Workers per device.

    Returns:
        The device of each worker, alternating over the devices.

    Raises:
        ValueError: A device is unknown or not available, or ``num_process_per_gpu`` is below 1.
    """
    import torch

    from realesrgan.inference.device import select_device

    names = settings.device.split(',') if isinstance(settings.device, str) else [settings.device]
    if len(names) > 1:
        per_device = [worker_devices(str(select_device(name.strip())), num_process_per_gpu) for name in names]
        return [device for round_ in zip(*per_device) for device in round_]
    device = select_device(settings.device, settings.gpu_id)
    if device.type == 'cuda' and settings.device in ('auto', 'cuda') and settings.gpu_id is None:
        return worker_devices('cuda', num_process_per_gpu, torch.cuda.device_count())
    return worker_devices(str(device), num_process_per_gpu)
