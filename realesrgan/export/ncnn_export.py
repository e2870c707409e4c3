"""Export a generator to ncnn ``.param`` + ``.bin`` files that are proven right before they appear.

The graph (:mod:`~realesrgan.export.ncnn_graph`) is written under temporary names
(:mod:`~realesrgan.export.ncnn_writer`) and then checked twice: the ncnn runtime runs it on the check images against
PyTorch (PSNR; below ``min_psnr`` the export is refused), and the reader of :mod:`realesrgan.zoo.ncnn` reads it back
to the network's own weights (float16-rounded where stored so). Only then do both files move to their names; on any
failure nothing is left behind.
"""

import os
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from realesrgan.export.ncnn_graph import build_ncnn_graph
from realesrgan.export.ncnn_runtime import run_ncnn
from realesrgan.export.ncnn_writer import write_ncnn
from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.fileio.atomic import atomic_output
from realesrgan.zoo.families import ArchInfo
from realesrgan.zoo.ncnn import NcnnFormatError, convert_ncnn

__all__ = ['DEFAULT_MIN_PSNR', 'NcnnExport', 'NcnnExportError', 'export_ncnn', 'final_resize_for', 'ncnn_paths']

# Lowest accepted PSNR against PyTorch per weight storage. A wrong graph scores below 30 dB; float32 storage agrees to
# more than 100 dB, float16 rounding of trained weights costs some 20-60 dB of that.
DEFAULT_MIN_PSNR = {'float32': 60.0, 'float16': 45.0}

Check = Tuple[str, float]


class NcnnExportError(ValueError):
    """The exported files failed a check; nothing was written.

    Attributes:
        checks: ``(label, PSNR)`` of the runtime comparisons made before the failure.
    """

    def __init__(self, message: str, checks: Sequence[Check] = ()) -> None:
        super().__init__(message)
        self.checks = list(checks)


@dataclass(frozen=True)
class NcnnExport:
    """What :func:`export_ncnn` wrote.

    Attributes:
        param_path: The ``.param`` graph.
        bin_path: The ``.bin`` weights.
        storage: ``'float16'`` or ``'float32'`` convolution weights.
        final_resize: Bicubic resize factor at the end of the graph, or None.
        outscale: Output size over input size.
        checks: ``(label, PSNR in dB)`` of the ncnn runtime against PyTorch per check image.
    """

    param_path: str
    bin_path: str
    storage: str
    final_resize: Optional[float]
    outscale: float
    checks: List[Check]


def ncnn_paths(output: str) -> Tuple[str, str]:
    """``NAME.param`` and ``NAME.bin`` for ``DIR/NAME`` (a trailing ``.param`` or ``.bin`` is dropped).

    Args:
        output: ``DIR/NAME`` as the user gave it.

    Returns:
        The two paths.
    """
    stem, extension = os.path.splitext(output)
    stem = stem if extension.lower() in ('.param', '.bin') else output
    return f'{stem}.param', f'{stem}.bin'


def final_resize_for(netscale: int, outscale: Optional[float]) -> Optional[float]:
    """The resize to append so that a ``netscale`` network gives ``outscale`` (None: no resize).

    The ncnn tools take whole scales (``-s 2/3/4``) and the official x2/x3 animevideov3 models are the x4 network
    followed by a bicubic downscale, so ``outscale`` must be a whole number from 1 to ``netscale``.

    Args:
        netscale: The network's scale.
        outscale: The wanted output scale, or None for ``netscale``.

    Returns:
        ``outscale / netscale``, or None when that is 1.

    Raises:
        ValueError: ``outscale`` is not a whole number from 1 to ``netscale``.
    """
    if outscale is None or outscale == netscale:
        return None
    if outscale != int(outscale) or not 1 <= outscale < netscale:
        raise ValueError(
            f'--outscale {outscale:g} does not fit an x{netscale} network: the ncnn tools take whole scales, and the '
            f'graph can only shrink the network output (use 1 to {netscale - 1}, or leave it out for x{netscale}). '
            'For a larger output, train or pick a network of that scale.'
        )
    return outscale / netscale


def _round_trip_problem(
    param_path: str, bin_path: str, model: nn.Module, info: ArchInfo, final_resize: Optional[float], fp16: bool
) -> Optional[str]:
    """Why the reader does not get the network back from the files, or None when it does."""
    try:
        conversion = convert_ncnn(param_path, bin_path)
    except NcnnFormatError as error:
        return f'The ncnn reader cannot read the exported files back: {error}'
    if conversion.info != info or conversion.final_resize != final_resize:
        return (
            f'The exported files read back as {conversion.info} with final resize {conversion.final_resize}, '
            f'not {info} with {final_resize}.'
        )
    for key, tensor in model.state_dict().items():
        expected = tensor.detach().float().cpu()
        if fp16 and expected.dim() == 4:  # convolution weights are the tensors stored as float16
            expected = expected.half().float()
        if not torch.equal(conversion.state_dict[key], expected):
            difference = (conversion.state_dict[key] - expected).abs().max().item()
            return f'{key} reads back from the exported files differently (by up to {difference:g}).'
    return None


def _references(
    model: nn.Module, info: ArchInfo, check_inputs: Sequence[Tuple[str, np.ndarray]], final_resize: Optional[float]
) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """``(label, input, PyTorch output)`` per check image, plus one of an odd size for x2 / x1 RRDBNet.

    The odd one is the first image less a row and a column; the graph replicate-pads it to the size multiple, so the
    PyTorch output is that of the edge-padded image, cropped to scale x the odd size.
    """
    cases = [(label, image, torch_forward(model, image, final_resize)) for label, image in check_inputs]
    multiple = info.traits.multiple_of
    if multiple > 1 and final_resize is None:
        label, image = check_inputs[0]
        height, width = image.shape[0] - 1, image.shape[1] - 1
        odd = np.ascontiguousarray(image[:height, :width])
        padded = np.pad(odd, ((0, -height % multiple), (0, -width % multiple), (0, 0)), mode='edge')
        reference = torch_forward(model, padded)[: height * info.netscale, : width * info.netscale]
        cases.append((f'{label} cut to {height}x{width} (odd size, edge-padded in PyTorch)', odd, reference))
    return cases


def export_ncnn(
    model: nn.Module,
    info: ArchInfo,
    output: str,
    check_inputs: Sequence[Tuple[str, np.ndarray]],
    *,
    fp16: bool = True,
    outscale: Optional[float] = None,
    min_psnr: Optional[float] = None,
    num_threads: Optional[int] = None,
    on_check: Optional[Callable[[str, float], None]] = None,
) -> NcnnExport:
    """Export a network to ncnn, check it with the ncnn runtime and the reader, and only then write it.

    Args:
        model: The network in eval mode (CPU, float32), e.g. from :func:`~realesrgan.zoo.build_model_from_checkpoint`.
        info: What the network is.
        output: ``DIR/NAME``: the files become ``NAME.param`` and ``NAME.bin`` (see :func:`ncnn_paths`).
        check_inputs: ``(label, (H, W, C) float32 image)`` pairs, e.g. from
            :func:`~realesrgan.export.check_images.check_images`; sizes must fit ``info.traits.multiple_of``.
        fp16: Store convolution weights as float16 (what the official files do); False keeps float32.
        outscale: Output scale below the network's (see :func:`final_resize_for`), or None.
        min_psnr: Lowest accepted PSNR of the ncnn runtime against PyTorch; None takes :data:`DEFAULT_MIN_PSNR` of
            the storage.
        num_threads: CPU threads of the ncnn runtime; None keeps its default.
        on_check: Called with ``(label, PSNR)`` after each check image (progress display).

    Returns:
        The written files and the checks.

    Raises:
        ValueError: No check image, the network has no ncnn graph, ``outscale`` does not fit, or weights do not fit
            float16.
        NcnnExportError: The ncnn runtime cannot run the files, or a check failed; nothing was written.
        ImportError: The ncnn runtime (``pip install ncnn``) is missing.
    """
    if not check_inputs:
        raise ValueError('export_ncnn needs at least one check image.')
    storage = 'float16' if fp16 else 'float32'
    min_psnr = DEFAULT_MIN_PSNR[storage] if min_psnr is None else min_psnr
    final_resize = final_resize_for(info.netscale, outscale)
    graph = build_ncnn_graph(model, info, final_resize)
    param_path, bin_path = ncnn_paths(output)
    checks: List[Check] = []
    with atomic_output(param_path, durable=True) as param_tmp, atomic_output(bin_path, durable=True) as bin_tmp:
        write_ncnn(graph, param_tmp, bin_tmp, fp16)
        # all PyTorch runs first, then all ncnn runs: alternating them makes the two thread pools spin against each
        # other
        for label, image, reference in _references(model, info, check_inputs, final_resize):
            try:
                output = run_ncnn(param_tmp, bin_tmp, image, num_threads)
            except (RuntimeError, ValueError) as error:
                message = f'The ncnn runtime cannot run the export: {error} Nothing was written.'
                raise NcnnExportError(message, checks) from None
            if output.shape != reference.shape:
                raise NcnnExportError(
                    f'The ncnn runtime gives shape {output.shape} for {label}, PyTorch {reference.shape}; nothing '
                    'was written.',
                    checks,
                )
            value = output_psnr(reference, output)
            checks.append((label, value))
            if on_check is not None:
                on_check(label, value)
        worst = min((value for _, value in checks), default=float('inf'))
        if worst < min_psnr:
            raise NcnnExportError(
                f'The ncnn runtime differs from PyTorch ({worst:.1f} dB < {min_psnr:g} dB); nothing was written.',
                checks,
            )
        problem = _round_trip_problem(param_tmp, bin_tmp, model, info, final_resize, fp16)
        if problem:
            raise NcnnExportError(f'{problem} Nothing was written.', checks)
    return NcnnExport(param_path, bin_path, storage, final_resize, info.netscale * (final_resize or 1), checks)
