"""Write an :class:`~realesrgan.export.ncnn_graph.NcnnGraph` as ncnn's ``.param`` text and ``.bin`` weights.

The inverse of the reader in :mod:`realesrgan.zoo.ncnn`, with its format constants. ``.param``: the magic number, then
"layer_count blob_count", then one line per layer: type, name, input and output counts, blob names, ``id=value``
parameters (integers as such, floats in ``%e`` form, arrays as ``-23300-id=count,v1,...``). ``.bin``: per layer in
``.param`` order, a convolution's weights behind a 4-byte storage tag (:data:`~realesrgan.zoo.ncnn.FP16_TAG` then
float16, padded to 4 bytes; or 0 then float32), then its float32 biases; a PReLU's float32 slopes.
"""

from typing import List

import numpy as np

from realesrgan.export.ncnn_graph import NcnnGraph
from realesrgan.zoo.ncnn import ARRAY_KEY_BASE, FP16_TAG, NCNN_MAGIC, NcnnLayer, ParamValue

__all__ = ['FP16_MAX', 'bin_bytes', 'param_text', 'write_ncnn']

FP16_MAX = float(np.finfo(np.float16).max)
_FP32_TAG = 0  # ncnn reads untagged (zero-tag) weights as raw float32


def _format_value(value: ParamValue) -> str:
    if isinstance(value, list):
        return ','.join([str(len(value))] + [f'{item:e}' for item in value])
    if isinstance(value, float):
        return f'{value:e}'
    return str(int(value))


def _layer_line(layer: NcnnLayer) -> str:
    params = [
        f'{ARRAY_KEY_BASE - key if isinstance(value, list) else key}={_format_value(value)}'
        for key, value in layer.params.items()
    ]
    fields = [layer.type, layer.name, str(len(layer.inputs)), str(len(layer.outputs))]
    return ' '.join(fields + layer.inputs + layer.outputs + params)


def param_text(graph: NcnnGraph) -> str:
    """The ``.param`` file's text.

    Args:
        graph: The graph.

    Returns:
        The text, newline-terminated.
    """
    lines = [str(NCNN_MAGIC), f'{len(graph.layers)} {graph.blob_count}'] + [
        _layer_line(layer) for layer in graph.layers
    ]
    return '\n'.join(lines) + '\n'


def _tagged(values: np.ndarray, fp16: bool, where: str) -> List[bytes]:
    if not fp16:
        return [_FP32_TAG.to_bytes(4, 'little'), values.astype('<f4').tobytes()]
    largest = float(np.abs(values).max(initial=0.0))
    if not np.isfinite(largest) or largest > FP16_MAX:
        raise ValueError(
            f'{where} holds a weight of magnitude {largest:g}, beyond float16 (max {FP16_MAX:g}); export with --fp32.'
        )
    packed = values.astype('<f2').tobytes()
    return [FP16_TAG.to_bytes(4, 'little'), packed, bytes(-len(packed) % 4)]


def bin_bytes(graph: NcnnGraph, fp16: bool = True) -> bytes:
    """The ``.bin`` file's content.

    Args:
        graph: The graph.
        fp16: Store convolution weights as float16 (biases and PReLU slopes stay float32, as ncnn reads them).

    Returns:
        The bytes.

    Raises:
        ValueError: A weight is not finite, or does not fit float16 with ``fp16``.
    """
    chunks = []
    for layer in graph.layers:
        for tagged, values in layer.weights:
            if not np.isfinite(values).all():
                raise ValueError(f'{layer.name} holds NaN or infinite weights; the checkpoint is damaged.')
            chunks += _tagged(values, fp16, layer.name) if tagged else [values.astype('<f4').tobytes()]
    return b''.join(chunks)


def write_ncnn(graph: NcnnGraph, param_path: str, bin_path: str, fp16: bool = True) -> None:
    """Write both files (to the paths given: callers that need atomicity pass temporary paths).

    Args:
        graph: The graph.
        param_path: Destination of the ``.param`` text.
        bin_path: Destination of the ``.bin`` weights.
        fp16: See :func:`bin_bytes`.
    """
    data = bin_bytes(graph, fp16)
    with open(param_path, 'w', encoding='utf-8', newline='\n') as param_file:
        param_file.write(param_text(graph))
    with open(bin_path, 'wb') as bin_file:
        bin_file.write(data)
