"""The ncnn graph of an RRDBNet or SRVGGNetCompact: the layers the official Real-ESRGAN ncnn files use, in their order.

The graph mirrors the official files of Real-ESRGAN-ncnn-vulkan, so the ncnn tools run it as fast as theirs: LeakyReLU
fused into the convolutions, ``x * 0.2 + identity`` as one weighted ``Eltwise`` sum, nearest ``Interp`` for the
upsampling, ``PixelShuffle`` and a nearest-upsampled residual for SRVGGNetCompact, and a ``Split`` for every blob read
by more than one layer (ncnn gives each blob one consumer). x2 / x1 RRDBNet pixel-unshuffle their input with ``Reorg``,
whose default mode is PyTorch's ``pixel_unshuffle`` order; a replicate ``Padding`` before it and a ``Crop`` at the end
let them take odd sizes too (the tiles of Upscayl's binary can be odd), at no cost for sizes that fit. The input blob
is ``data``, the output blob ``output`` (the names the ncnn Real-ESRGAN tools extract). Convolutions appear in the
order of the module's state dict, as the ``.bin`` must hold them (see :mod:`realesrgan.zoo.ncnn`, the reader this is
the inverse of).
"""

import importlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch import nn

from realesrgan.zoo.families import FAMILIES, ArchInfo
from realesrgan.zoo.ncnn import NcnnLayer, ParamValue

__all__ = [
    'INPUT_BLOB',
    'OUTPUT_BLOB',
    'NcnnGraph',
    'NcnnGraphBuilder',
    'build_ncnn_graph',
    'graph_writer',
    'rrdbnet_graph',
    'srvgg_graph',
]

INPUT_BLOB, OUTPUT_BLOB = 'data', 'output'

# ncnn parameter values used below (see ncnn's operator docs).
_ACT_RELU, _ACT_LEAKY = 1, 2  # Convolution 9=activation_type, 10=activation_params
_ELTWISE_SUM = 1
_INTERP_NEAREST, _INTERP_BICUBIC = 1, 3
_PAD_REPLICATE = 1  # Padding 0=top 1=bottom 2=left 3=right 4=type
_RRDB_RESIDUAL = 0.2  # RRDBNet scales each dense block's (and each RRDB's) output by 0.2 before the identity
_RRDB_SLOPE = 0.2  # RRDBNet's LeakyReLU slope
_SRVGG_LEAKY_SLOPE = 0.1  # SRVGGNetCompact's LeakyReLU slope


@dataclass
class NcnnGraph:
    """A whole ncnn model before it is written.

    Attributes:
        layers: In execution order (the order of the ``.param`` lines and of the ``.bin`` data).
    """

    layers: List[NcnnLayer]

    @property
    def blob_count(self) -> int:
        """Number of distinct blobs (each is written by exactly one layer)."""
        return len({blob for layer in self.layers for blob in layer.outputs})


class NcnnGraphBuilder:
    """Appends layers; each layer writes one blob named after the layer."""

    def __init__(self) -> None:
        self.layers: List[NcnnLayer] = [NcnnLayer('Input', 'input', [], [INPUT_BLOB])]

    def add(
        self,
        type_: str,
        name: str,
        inputs: Sequence[str],
        params: Optional[Dict[int, ParamValue]] = None,
        weights: Sequence[Tuple[bool, np.ndarray]] = (),
    ) -> str:
        self.layers.append(NcnnLayer(type_, name, list(inputs), [name], dict(params or {}), weights=list(weights)))
        return name

    def conv(self, conv: nn.Conv2d, name: str, blob: str, activation: Optional[tuple] = None) -> str:
        """A 3x3, stride 1, padding 1 convolution with bias, optionally with a fused (type, slope) activation."""
        weight = conv.weight.detach().float().cpu().numpy()
        if weight.shape[2:] != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.bias is None:
            raise ValueError(f'{name}: only 3x3 convolutions with stride 1, padding 1 and a bias can be exported.')
        params = {0: weight.shape[0], 1: 3, 4: 1, 5: 1, 6: weight.size}
        if activation is not None:
            act_type, slope = activation
            params[9] = act_type
            if act_type == _ACT_LEAKY:
                params[10] = [slope]
        bias = conv.bias.detach().float().cpu().numpy()
        return self.add('Convolution', name, [blob], params, [(True, weight), (False, bias)])

    def concat(self, name: str, blobs: Sequence[str]) -> str:
        return self.add('Concat', name, blobs)

    def scaled_sum(self, name: str, residual: str, identity: str) -> str:
        """``residual * 0.2 + identity`` in one pass."""
        return self.add('Eltwise', name, [residual, identity], {0: _ELTWISE_SUM, 1: [_RRDB_RESIDUAL, 1.0]})

    def interp(self, name: str, blob: str, mode: int, factor: float) -> str:
        return self.add('Interp', name, [blob], {0: mode, 1: float(factor), 2: float(factor)})


def rrdbnet_graph(model: nn.Module, info: ArchInfo, graph: NcnnGraphBuilder) -> None:
    """Lay out an RRDBNet (any scale, any input size) in ``graph``; the family's ``ncnn_graph``."""
    leaky = (_ACT_LEAKY, _RRDB_SLOPE)
    blob = INPUT_BLOB
    scale = info.kwargs.get('scale', 4)
    unshuffle = {2: 2, 1: 4}.get(scale)
    if unshuffle:
        # Any input size: replicate-pad by unshuffle - 1 on the right and bottom, Reorg keeps only whole cells (the pad
        # of a fitting size is dropped, an odd size gets the replicated edge it needs), and the output is cropped
        # back to scale x the input size.
        pad = unshuffle - 1
        blob = graph.add('Padding', 'pad_to_multiple', [blob], {1: pad, 3: pad, 4: _PAD_REPLICATE})
        blob = graph.add('Reorg', 'pixel_unshuffle', [blob], {0: unshuffle})
    feat = graph.conv(model.conv_first, 'conv_first', blob)
    trunk = feat
    for index, rrdb in enumerate(model.body):
        rrdb_in = trunk
        for rdb_name in ('rdb1', 'rdb2', 'rdb3'):
            rdb, prefix = getattr(rrdb, rdb_name), f'body.{index}.{rdb_name}'
            dense = [trunk]
            for conv_index in range(1, 5):
                joined = dense[0] if len(dense) == 1 else graph.concat(f'{prefix}.cat{conv_index}', dense)
                dense.append(graph.conv(getattr(rdb, f'conv{conv_index}'), f'{prefix}.conv{conv_index}', joined, leaky))
            last = graph.conv(rdb.conv5, f'{prefix}.conv5', graph.concat(f'{prefix}.cat5', dense))
            trunk = graph.scaled_sum(f'{prefix}.residual', last, dense[0])
        trunk = graph.scaled_sum(f'body.{index}.residual', trunk, rrdb_in)
    body = graph.conv(model.conv_body, 'conv_body', trunk)
    blob = graph.add('BinaryOp', 'trunk_residual', [feat, body])  # op_type 0, add, is the default
    for name in ('conv_up1', 'conv_up2'):
        blob = graph.conv(getattr(model, name), name, graph.interp(f'{name}.upsample', blob, _INTERP_NEAREST, 2), leaky)
    blob = graph.conv(model.conv_hr, 'conv_hr', blob, leaky)
    blob = graph.conv(model.conv_last, 'conv_last', blob)
    if unshuffle:
        size = INPUT_BLOB if scale == 1 else graph.interp('output_size', INPUT_BLOB, _INTERP_NEAREST, scale)
        graph.add('Crop', 'crop_to_output_size', [blob, size])  # a 2-input Crop takes the second blob's size


def srvgg_graph(model: nn.Module, info: ArchInfo, graph: NcnnGraphBuilder) -> None:
    """Lay out an SRVGGNetCompact in ``graph``; the family's ``ncnn_graph``."""
    act_type, upscale = info.kwargs['act_type'], info.kwargs['upscale']
    fused = {'relu': (_ACT_RELU, 0.0), 'leakyrelu': (_ACT_LEAKY, _SRVGG_LEAKY_SLOPE)}.get(act_type)
    body = list(model.body)
    blob = INPUT_BLOB
    for index in range(0, len(body) - 1, 2):
        blob = graph.conv(body[index], f'body.{index}', blob, fused)
        if act_type == 'prelu':
            slopes = body[index + 1].weight.detach().float().cpu().numpy()
            blob = graph.add('PReLU', f'body.{index + 1}', [blob], {0: slopes.size}, [(False, slopes)])
    blob = graph.conv(body[-1], f'body.{len(body) - 1}', blob)
    shuffled = graph.add('PixelShuffle', 'upsampler', [blob], {0: upscale})
    base = graph.interp('base', INPUT_BLOB, _INTERP_NEAREST, upscale)
    graph.add('BinaryOp', 'residual', [shuffled, base])


def graph_writer(arch: str) -> Callable[[nn.Module, ArchInfo, NcnnGraphBuilder], None]:
    """The function that lays out networks of family ``arch`` (its :attr:`ArchFamily.ncnn_graph`).

    Raises:
        ValueError: The family has no ncnn graph (or is not one of ours).
    """
    family = FAMILIES.get(arch)
    if family is None or family.ncnn_graph is None:
        exportable = ', '.join(name for name, family in FAMILIES.items() if family.ncnn_graph)
        raise ValueError(f'No ncnn graph is known for {arch}; pytorch2ncnn exports {exportable}.')
    module, name = family.ncnn_graph.split(':')
    return getattr(importlib.import_module(module), name)


def _insert_splits(layers: List[NcnnLayer]) -> List[NcnnLayer]:
    """Give every blob read by k > 1 layers a Split layer with k outputs, one per reader, right after its writer."""
    readers = defaultdict(list)
    for layer in layers:
        for slot, blob in enumerate(layer.inputs):
            readers[blob].append((layer, slot))
    result = []
    for layer in layers:
        result.append(layer)
        for blob in layer.outputs:
            if len(readers[blob]) < 2:
                continue
            copies = [f'{blob}_splitncnn_{number}' for number in range(len(readers[blob]))]
            result.append(NcnnLayer('Split', f'splitncnn_{blob}', [blob], copies))
            for (reader, slot), copy in zip(readers[blob], copies):
                reader.inputs[slot] = copy
    return result


def build_ncnn_graph(model: nn.Module, info: ArchInfo, final_resize: Optional[float] = None) -> NcnnGraph:
    """Lay out a network as an ncnn graph with its weights.

    Args:
        model: The network (any device, float weights), e.g. from
            :func:`~realesrgan.zoo.build_model_from_checkpoint`.
        info: What the network is (family and constructor arguments).
        final_resize: Bicubic resize factor after the network (the x4 network with an x2 / x3 output, as the official
            animevideov3 x2/x3 ncnn models do), or None.

    Returns:
        The graph: ``data`` in, ``output`` out.

    Raises:
        ValueError: No ncnn graph is known for the family, or a layer does not fit the Real-ESRGAN layout.
    """
    write_graph = graph_writer(info.arch)
    graph = NcnnGraphBuilder()
    write_graph(model, info, graph)
    if final_resize is not None:
        graph.interp('final_resize', graph.layers[-1].outputs[0], _INTERP_BICUBIC, final_resize)
    graph.layers[-1].outputs = [OUTPUT_BLOB]
    return NcnnGraph(_insert_splits(graph.layers))
