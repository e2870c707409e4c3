"""Between OpenCV images and network tensors, converted exactly as the original ``RealESRGANer`` does.

Input: integer (or float) BGR / gray images are normalised by their range (255, or 65535 for 16-bit images),
turned into RGB, padded by reflection at the bottom and right (pre-pad, then the pad to the sizes the network takes:
the original's mod-pad, or a model's minimum and square rules), and laid out as one
(1, 3, H, W) float32 tensor. Output: the network's RGB tensor is clamped to [0, 1], turned back to BGR (or to gray
by OpenCV, in float, as the original), multiplied by the range and rounded.
"""

from typing import Tuple

import cv2
import numpy as np
import torch

__all__ = ['checked_pixels', 'color_output', 'gray_output', 'max_range_of', 'network_input', 'pad_indices', 'quantize']

# Rows quantized at a time (bounds the temporary float memory of the last step).
_QUANTIZE_ROWS = 256


def checked_pixels(img: np.ndarray) -> np.ndarray:
    """The pixels of an API input of any dtype in a form the range rules apply to, or a clear error.

    A boolean image (a mask) becomes uint8 0 / 255. Integers must lie in 0..65535, the 16-bit range the output can
    hold: negative values (signed types) and larger ones are refused rather than clipped silently. Complex values
    are refused. Other dtypes pass unchanged (floats get their own checks in ``enhance``).

    Args:
        img: The image as given to ``RealESRGANer.enhance``.

    Returns:
        The image, converted where needed.

    Raises:
        ValueError: Complex, negative or beyond-16-bit values; the message is one line with what to do.
    """
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * np.uint8(255)
    if img.dtype.kind == 'c':
        raise ValueError(
            f'The image has complex ({img.dtype}) pixel values; pass its real part (img.real) or its magnitude '
            '(np.abs(img)).'
        )
    if img.dtype.kind in 'iu' and img.dtype not in (np.uint8, np.uint16) and img.size:
        low, high = int(img.min()), int(img.max())
        if low < 0 or high > 65535:
            raise ValueError(
                f'The {img.dtype} image has values from {low} to {high}; pixel values must lie in 0..255 (8-bit) or '
                '0..65535 (16-bit): rescale it, e.g. to uint16.'
            )
    return img


def max_range_of(img: np.ndarray) -> int:
    """The value range of an image: what its values are divided by before the network.

    Args:
        img: The input image.

    Returns:
        65535 for uint16 images and for non-uint8 images with values above 256 (the original's test), else 255.
        (The original decides by the values alone; a dark uint16 image then stays 16-bit here.)
    """
    if img.dtype == np.uint16 or (img.dtype != np.uint8 and img.size and float(np.max(img)) > 256):
        return 65535
    return 255


def pad_indices(size: int, pre_pad: int, padded: int) -> np.ndarray:
    """Source index of every row (or column) after the reflect pre-pad and the reflect pad to the network's size.

    Matches ``F.pad(..., 'reflect')`` applied twice, as the original does (pre-pad, then mod-pad), and keeps
    reflecting (or repeats the only pixel) where the pad is as large as the image, where ``F.pad`` refuses.

    Args:
        size: Length of the axis.
        pre_pad: Reflection padding added first.
        padded: Length after all padding (at least ``size + pre_pad``): a multiple, a minimum or a square side
            that the network needs (:meth:`realesrgan.zoo.ModelTraits.padded_size`).

    Returns:
        The indices into the unpadded axis, ``padded`` of them.
    """

    def reflect(length: int, count: int) -> np.ndarray:
        positions = np.arange(count)
        if length == 1:
            return np.zeros(count, dtype=np.int64)
        period = 2 * (length - 1)
        positions %= period
        return np.where(positions < length, positions, period - positions)

    return reflect(size, size + pre_pad)[reflect(size + pre_pad, padded)]


def network_input(
    planes: np.ndarray,
    max_range: float,
    bgr: bool,
    pre_pad: int,
    padded: Tuple[int, int],
    device: torch.device,
    channels_last: bool,
) -> torch.Tensor:
    """Turn an (H, W) gray or (H, W, 3) image into the padded (1, 3, H', W') RGB float32 network input.

    The image is normalised by ``max_range`` on ``device`` (bit-identical to the original's float32 division on
    the host) and written once into a buffer that already has the padded size.

    Args:
        planes: (H, W) gray or (H, W, 3) image.
        max_range: Divisor of the values (255, 65535, or 1 for images already in [0, 1]).
        bgr: The channels are in OpenCV's BGR order (else RGB).
        pre_pad: Reflection padding at the bottom and right.
        padded: ``(H', W')``, the size after the pre-pad and the pad the network needs (at least
            ``(H + pre_pad, W + pre_pad)``), also reflected.
        device: Where the tensor is made.
        channels_last: Give the tensor the channels-last memory layout.

    Returns:
        The input tensor.
    """
    height, width = planes.shape[:2]
    rows = pad_indices(height, pre_pad, padded[0])
    cols = pad_indices(width, pre_pad, padded[1])
    if planes.dtype not in (np.uint8, np.float32):
        planes = planes.astype(np.float32)
    source = torch.from_numpy(planes).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    batch = torch.empty((1, 3, len(rows), len(cols)), dtype=torch.float32, device=device, memory_format=memory_format)
    image = batch[0, :, :height, :width]
    if source.dim() == 2:
        image.copy_(source.expand(3, height, width))
    else:
        for channel, source_channel in enumerate((2, 1, 0) if bgr else (0, 1, 2)):
            image[channel].copy_(source[:, :, source_channel])
    if max_range != 1:
        image.div_(max_range)
    if len(rows) > height:
        batch[0, :, height:, :width] = image.index_select(1, torch.from_numpy(rows[height:]).to(device))
    if len(cols) > width:
        batch[0, :, :, width:] = batch[0].index_select(2, torch.from_numpy(cols[width:]).to(device))
    return batch


def quantize(values: torch.Tensor, max_range: int, reverse_channels: bool = False) -> np.ndarray:
    """``(values * max_range).round()`` as uint8 (uint16 for 16-bit images) on the host, as the original does.

    Works through bands of rows, so that no second full-size float image is made; the integers are made on the
    device and only they are copied to the host.

    Args:
        values: (H, W) or (H, W, C) float tensor in [0, 1], on any device.
        max_range: 255 or 65535.
        reverse_channels: Reverse the channel order on the way (RGB -> BGR).

    Returns:
        The integer image, C-contiguous.
    """
    dtype = torch.uint16 if max_range == 65535 else torch.uint8
    result = np.empty(tuple(values.shape), dtype=np.uint16 if max_range == 65535 else np.uint8)
    target = torch.from_numpy(result)
    for first in range(0, values.shape[0], _QUANTIZE_ROWS):
        band = values[first : first + _QUANTIZE_ROWS].mul(float(max_range)).round_()
        # uint16 is a CPU type in PyTorch (barely supported on accelerators): convert those bands on the host.
        band = (band.cpu() if dtype == torch.uint16 else band).to(dtype)
        target[first : first + _QUANTIZE_ROWS].copy_(band.flip(-1) if reverse_channels else band)
    return result


def color_output(output: torch.Tensor, max_range: int) -> np.ndarray:
    """Turn a (1, 3, H, W) RGB network output into an (H, W, 3) BGR integer image.

    Args:
        output: The network output (clamped to [0, 1] in place, as the original does on the CPU).
        max_range: 255 or 65535.

    Returns:
        The image, uint8 or uint16.
    """
    return quantize(output[0].float().clamp_(0, 1).permute(1, 2, 0), max_range, reverse_channels=True)


def gray_output(output: torch.Tensor, max_range: int) -> np.ndarray:
    """Turn a (1, 3, H, W) RGB network output into an (H, W) gray integer image, as the original (OpenCV, float).

    Args:
        output: The network output (clamped to [0, 1] in place).
        max_range: 255 or 65535.

    Returns:
        The image, uint8 or uint16.
    """
    rgb = output[0].float().clamp_(0, 1).permute(1, 2, 0).cpu().numpy()
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, ::-1]), cv2.COLOR_BGR2GRAY)
    return quantize(torch.from_numpy(gray), max_range)
