"""What the page lets a user choose, turned into the values of a command line's flags.

A job of the page starts from the command line's own defaults (its parser, given no arguments), then takes the
server's engine flags, then the page's choices, all named as the flags (``dest`` names); the job class then reads
them with its ``from_args``, as the CLI does. So the page and the CLIs cannot drift apart in defaults or checks.
"""

import argparse
import os
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Optional, TypeVar

from realesrgan.inference.model_choice import DEFAULT_MODEL_NAME
from realesrgan.web.workspace import Workspace

__all__ = ['EngineChoices', 'job_values', 'with_local_model']

Choices = TypeVar('Choices', bound='EngineChoices')


@dataclass(frozen=True)
class EngineChoices:
    """The choices both tabs offer, each named as (or mapped to) a flag of both CLIs.

    Attributes:
        model_name: A model of the zoo; ignored when ``model_file`` is given.
        model_file: An uploaded ``.pth`` whose architecture is detected (``--model_path`` without ``-n``).
        outscale: Final scale; None for the model's own.
        denoise_strength: DNI strength (realesr-general-x4v3).
        tile: Tile size, 0 for whole images or frames.
        face_enhance: GFPGAN for faces.
        precision: ``auto``, ``fp32``, ``fp16`` or ``bf16``.
    """

    model_name: str = DEFAULT_MODEL_NAME
    model_file: Optional[str] = None
    outscale: Optional[float] = None
    denoise_strength: float = 0.5
    tile: int = 0
    face_enhance: bool = False
    precision: str = 'auto'

    def flags(self) -> Dict[str, Any]:
        """The choices as parsed flags of the CLIs."""
        return {
            'model_name': None if self.model_file else self.model_name,
            'model_path': self.model_file,
            'outscale': self.outscale,
            'denoise_strength': self.denoise_strength,
            'tile': self.tile,
            'face_enhance': self.face_enhance,
            'precision': self.precision,
        }


def job_values(
    parser: argparse.ArgumentParser,
    server: Mapping[str, Any],
    choices: EngineChoices,
    input_path: str,
    output_folder: str,
) -> Dict[str, Any]:
    """The flag values of the job a command line would run for these choices.

    Args:
        parser: The CLI's parser (its defaults are the start).
        server: The server's engine flags (``weights_dir``, ``device``, ``max_pixels``, ...), as parsed.
        choices: What the page chose.
        input_path: ``-i``.
        output_folder: ``-o``.

    Returns:
        ``{dest: value}``, as ``vars(parser.parse_args(...))`` gives them.
    """
    values = vars(parser.parse_args([]))
    values.update(server)
    values.update(choices.flags())
    values.update(input=input_path, output=output_folder)
    return values


def with_local_model(choices: Choices, workspace: Workspace, folder: str) -> Choices:
    """``choices`` with its uploaded model file placed in the job folder (unchanged without one).

    Raises:
        ValueError: The model file is not an upload of the page.
    """
    if not choices.model_file:
        return choices
    return replace(choices, model_file=workspace.gather([choices.model_file], os.path.join(folder, 'model'))[0])
