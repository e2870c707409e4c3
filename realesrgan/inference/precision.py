"""Numeric precision of inference: fp32, fp16 or bf16, and the ``auto`` choice per device.

``auto`` picks fp16 on CUDA (as the original's default), bf16 on CPUs where it was measured faster than fp32, and
fp32 everywhere else. bf16 is faster with AMX-BF16 matrix units (Intel Sapphire Rapids and newer: RealESRGAN_x4plus at
256 px 2.6 s against 12.9 s in fp32), and on AMD Zen 5 (CPU family 26 and newer), whose AVX512-BF16 dot products run
at full width (torch 2.14.1, oneDNN 3.12: RealESRGAN_x4plus at 256 px 2.80 s against 5.68 s, realesr-animevideov3
0.098 s against 0.190 s, 52.7 / 56.7 dB from fp32). On other CPUs with AVX512-BF16 but no AMX (an earlier AMD EPYC,
torch 2.15) oneDNN's bf16 convolutions were measured slower than channels-last fp32 (realesr-animevideov3 at 256 px:
0.59 s against 0.39 s), so ``auto`` keeps fp32 there; bf16 can still be asked for.

fp16 is never used on a CPU: PyTorch either lacks the kernels (``"slow_conv2d_cpu" not implemented for 'Half'``) or
runs them far slower than fp32, so an fp16 request on a CPU falls back to fp32 with a warning. A model that declares
fp16 or bf16 unsafe (many transformer architectures that spandrel loads are not fp16-safe) never runs in it: ``auto``
then picks fp32, and an explicit request falls back to fp32 with a warning. Reduced precision runs under
:func:`torch.autocast`, so the weights stay in fp32 and an image can be redone in fp32 at any time.
"""

import contextlib
import functools
import logging
from typing import TYPE_CHECKING, ContextManager, Dict, Optional

from realesrgan.zoo.traits import ModelTraits

if TYPE_CHECKING:
    import torch

__all__ = [
    'PRECISIONS',
    'amd_full_width_bf16',
    'autocast',
    'cpu_bf16_is_faster',
    'cpu_has_native_bf16',
    'cpuinfo_fields',
    'normalize_precision',
    'resolve_precision',
]

logger = logging.getLogger(__name__)

PRECISIONS = ('auto', 'fp32', 'fp16', 'bf16')
_DTYPE_NAMES = {'fp16': 'float16', 'bf16': 'bfloat16'}
_CPU_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


# AMD's CPU family from which AVX512-BF16 runs at full width (Zen 5; Zen 4 is family 25)
_AMD_FULL_WIDTH_BF16_FAMILY = 26


@functools.lru_cache(maxsize=None)
def cpuinfo_fields() -> Dict[str, str]:
    """The first processor's fields of Linux's ``/proc/cpuinfo`` (``model name``, ``flags``, ...; empty elsewhere)."""
    fields: Dict[str, str] = {}
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break
                key, _, value = line.partition(':')
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def _cpuinfo_flags() -> set:
    return set(cpuinfo_fields().get('flags', '').split())


def amd_full_width_bf16() -> bool:
    """Whether this is an AMD CPU of family 26 or newer (Zen 5) with AVX512-BF16, which runs bf16 at full width."""
    fields = cpuinfo_fields()
    family = fields.get('cpu family', '')
    return (
        fields.get('vendor_id') == 'AuthenticAMD'
        and family.isdigit()
        and int(family) >= _AMD_FULL_WIDTH_BF16_FAMILY
        and 'avx512_bf16' in _cpuinfo_flags()
    )


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (oneDNN's check, else the AVX512-BF16 / AMX flags of Linux).

    Returns:
        True when bf16 convolutions are expected to beat fp32 on this CPU.
    """
    import torch

    if torch.backends.mkldnn.is_available():
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            pass
    return any(flag in _cpuinfo_flags() for flag in _CPU_BF16_FLAGS)


def cpu_bf16_is_faster() -> bool:
    """Whether bf16 inference was measured faster than fp32 on CPUs of this kind (see the module's text).

    Returns:
        True with oneDNN bf16 support on CPUs with AMX-BF16, or on AMD CPUs of family 26 and newer (Zen 5) with
        AVX512-BF16.
    """
    return cpu_has_native_bf16() and ('amx_bf16' in _cpuinfo_flags() or amd_full_width_bf16())


def _auto_precision(device: 'torch.device', traits: ModelTraits) -> str:
    if device.type == 'cuda':
        return 'fp16' if traits.fp16 else 'fp32'
    if device.type == 'cpu' and traits.bf16 and cpu_bf16_is_faster():
        return 'bf16'
    return 'fp32'


def _cuda_has_bf16() -> bool:
    import torch

    return torch.cuda.is_bf16_supported()


def normalize_precision(precision: str) -> str:
    """Check a precision name and return it in lower case.

    Args:
        precision: ``'auto'``, ``'fp32'``, ``'fp16'`` or ``'bf16'``, in any case.

    Returns:
        The lower-case name.

    Raises:
        ValueError: Unknown precision.
    """
    name = precision.lower() if isinstance(precision, str) else precision
    if name not in PRECISIONS:
        raise ValueError(f'Unknown precision {precision!r}; choose one of {", ".join(PRECISIONS)}.')
    return name


def resolve_precision(
    precision: Optional[str], device: 'torch.device', half: bool = False, traits: Optional[ModelTraits] = None
) -> str:
    """Decide the precision actually used on ``device``.

    Args:
        precision: ``'auto'``, ``'fp32'``, ``'fp16'``, ``'bf16'``, or None to follow ``half``.
        device: The inference device.
        half: The original's flag: True means fp16 (used when ``precision`` is None).
        traits: What the model declares safe (``traits.fp16``, ``traits.bf16``); None: both are.

    Returns:
        ``'fp32'``, ``'fp16'`` or ``'bf16'``.

    Raises:
        ValueError: Unknown precision, or ``half=True`` together with a precision other than fp16.
    """
    if precision is None:
        precision = 'fp16' if half else 'fp32'
    precision = normalize_precision(precision)
    if half and precision not in ('fp16', 'auto'):
        raise ValueError(f'half=True asks for fp16 but precision={precision!r} was given too; pass only one.')
    traits = traits or ModelTraits()
    if precision == 'auto':
        precision = _auto_precision(device, traits)
    unsafe = (precision == 'fp16' and not traits.fp16) or (precision == 'bf16' and not traits.bf16)
    if unsafe:
        logger.warning('The model declares %s unsafe (it may give wrong or black output); using fp32.', precision)
        return 'fp32'
    if precision == 'fp16' and device.type == 'cpu':
        logger.warning(
            'fp16 was requested on the CPU, where PyTorch has no fast fp16 kernels; using fp32 instead '
            '(bf16 is the fast reduced precision on CPUs that support it).'
        )
        return 'fp32'
    if precision == 'bf16' and device.type == 'cpu' and not cpu_has_native_bf16():
        logger.warning('This CPU has no native bf16 instructions: bf16 inference will be emulated and slow.')
    if precision == 'bf16' and device.type == 'cuda' and not _cuda_has_bf16():
        logger.warning('This GPU does not support bf16; using fp32 instead.')
        return 'fp32'
    return precision


def autocast(precision: str, device: 'torch.device') -> ContextManager:
    """Context in which the network runs in ``precision`` on ``device``.

    Args:
        precision: ``'fp32'``, ``'fp16'`` or ``'bf16'`` (as returned by :func:`resolve_precision`).
        device: The inference device.

    Returns:
        :func:`torch.autocast` for reduced precision, a no-op context for fp32.
    """
    if precision == 'fp32':
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.type, dtype=getattr(torch, _DTYPE_NAMES[precision]))
