"""ONNX export of the generators with dynamic batch, height and width, and running the result with ONNX Runtime.

Needs the optional ``onnx`` and ``onnxruntime`` packages (``pip install "realesrgan[export]"``); the ``dynamo``
exporter also needs ``onnxscript``.
"""

import copy
import warnings
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from realesrgan.fileio.atomic import atomic_output

__all__ = ['DEFAULT_OPSETS', 'EXPORTERS', 'export_onnx', 'onnx_session', 'run_onnx']

# The TorchScript exporter's well-supported opset, and the lowest one the dynamo exporter writes natively (asked
# for less, it writes 18 and converts down, with a warning).
DEFAULT_OPSETS = {'torchscript': 17, 'dynamo': 18}
EXPORTERS = tuple(DEFAULT_OPSETS)
INPUT_NAME, OUTPUT_NAME = 'input', 'output'
# Side of the example input used for tracing: divisible by 4, as x1 RRDBNet (pixel-unshuffle by 4) needs.
_TRACE_SIZE = 32


def _import(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as error:
        raise ImportError(
            f'ONNX export needs the {module} package: pip install {module} (or pip install "realesrgan[export]").'
        ) from error


def _export(model: nn.Module, example: torch.Tensor, path: str, opset: int, exporter: str) -> None:
    names = dict(input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=opset)
    if exporter == 'dynamo':
        _import('onnxscript')
        dynamic = torch.export.Dim.DYNAMIC
        torch.onnx.export(
            model,
            (example,),
            path,
            dynamo=True,
            dynamic_shapes=({0: dynamic, 2: dynamic, 3: dynamic},),
            external_data=False,
            verbose=False,
            **names,
        )
        return
    axes = {
        INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'},
        OUTPUT_NAME: {0: 'batch', 2: 'out_height', 3: 'out_width'},
    }
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo but remains the fast, dependency-free path; shape
        # checks in forward() trace to constants, which is right here (channel counts are fixed).
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(model, (example,), path, dynamo=False, dynamic_axes=axes, do_constant_folding=True, **names)


def export_onnx(
    model: nn.Module,
    path: str,
    num_in_ch: int = 3,
    opset: Optional[int] = None,
    fp16: bool = False,
    exporter: str = 'torchscript',
) -> int:
    """Export a generator to ONNX with dynamic batch, height and width, checked by ``onnx.checker``.

    The file appears at ``path`` only once export and check succeeded.

    Args:
        model: The network (any device; it is not modified).
        path: Destination ``.onnx`` file.
        num_in_ch: Image channels the network takes (``ArchInfo.kwargs['num_in_ch']``).
        opset: ONNX opset version; None for the exporter's default (:data:`DEFAULT_OPSETS`: 17, or 18 for dynamo).
        fp16: Export with float16 weights, input and output.
        exporter: ``'torchscript'`` (fast, no extra dependency) or ``'dynamo'`` (torch.export based; needs
            ``onnxscript``).

    Returns:
        The opset of the written file.

    Raises:
        ValueError: Unknown exporter.
        onnx.checker.ValidationError: The exported graph is invalid.
    """
    if exporter not in EXPORTERS:
        raise ValueError(f'Unknown exporter {exporter!r}; use one of {", ".join(EXPORTERS)}.')
    opset = DEFAULT_OPSETS[exporter] if opset is None else opset
    onnx = _import('onnx')
    dtype = torch.float16 if fp16 else torch.float32
    cpu_model = copy.deepcopy(model).to(device='cpu', dtype=dtype).eval()
    example = torch.rand(1, num_in_ch, _TRACE_SIZE, _TRACE_SIZE, dtype=dtype)

    with atomic_output(path) as temporary:
        with torch.no_grad():
            _export(cpu_model, example, temporary, opset, exporter)
        onnx.checker.check_model(temporary, full_check=True)
        written = next(entry.version for entry in onnx.load(temporary).opset_import if entry.domain in ('', 'ai.onnx'))
    return written


def onnx_session(path: str, num_threads: Optional[int] = None) -> Any:
    """Open an ONNX Runtime session on the CPU.

    Args:
        path: The ``.onnx`` file.
        num_threads: Intra-op threads; None keeps ONNX Runtime's default.

    Returns:
        An ``onnxruntime.InferenceSession``.
    """
    onnxruntime = _import('onnxruntime')
    options = onnxruntime.SessionOptions()
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
    return onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def run_onnx(session: Any, image: np.ndarray) -> np.ndarray:
    """Run one (H, W, C) float image through an exported generator.

    Args:
        session: From :func:`onnx_session`.
        image: Input, (H, W, C), RGB in [0, 1].

    Returns:
        The output, (H_out, W_out, C) float32.
    """
    dtype = np.float16 if session.get_inputs()[0].type == 'tensor(float16)' else np.float32
    batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=dtype)
    output = session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
    return output[0].transpose(1, 2, 0).astype(np.float32)
