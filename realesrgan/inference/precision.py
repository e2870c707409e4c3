"""Numeric precision of inference: fp32, fp16 or bf16, and the ``auto`` choice per device and CPU kind.

``auto`` picks fp16 on CUDA (as the original's default). On a CPU it follows :data:`CPU_KIND_PRECISION`, the one
table of the choice per CPU kind (:func:`cpu_kind`), decided by measurement (RealESRGAN_x4plus and
realesr-animevideov3, ``benchmarks/inference_benchmark.py`` and ``benchmarks/precision_quality.py``). Every kind runs
the network channels-last, oneDNN's preferred layout:

* AMX-BF16 (Intel Sapphire Rapids and newer): **bf16**. RealESRGAN_x4plus at 256 px 2.6 s against 12.9 s in fp32
  (ncnn's fastest CPU mode 12.5 s); matmul peak fp32 249 / bf16 729 GFLOP/s.
* AVX-512 with full-width AVX512-BF16 (AMD Zen 5, CPU family 26 and newer): **bf16**. torch 2.14.1, oneDNN 3.12:
  RealESRGAN_x4plus at 256 px 2.80 s against 5.68 s, realesr-animevideov3 0.098 s against 0.190 s, 52.7 / 56.7 dB
  from fp32.
* AVX-512 with AVX512-BF16 but no AMX and not full width (an earlier AMD EPYC, torch 2.15): **fp32**. oneDNN's bf16
  convolutions were slower than channels-last fp32 there (realesr-animevideov3 at 256 px: 0.59 s against 0.39 s).
* AVX-512 without bf16 (emulated: an AMX-BF16 Xeon capped at AVX512_CORE, ``benchmarks/cpu_paths.py --emulate-kind
  avx512``, ncnn built without AVX512-BF16): **fp32**. bf16, emulated by oneDNN without bf16 instructions, took 4x
  as long (realesr-animevideov3 at 256 px 1.28 s against 0.305 s). Bare network, x4plus 64 / 256 px, animevideov3 64
  / 256 px, ours fp32 0.580 / 9.91 / 0.0204 / 0.305 s; ncnn's fastest mode 0.629 / 12.61 / 0.0165 / 0.408 s: ours is
  1.09 / 1.27 / 0.81 / 1.34x ncnn (ncnn's Winograd convolutions win on the small realesr-animevideov3 image only).
* AVX2 without AVX-512 (AMD EPYC Zen 3, torch 2.14; and an AMX-BF16 Xeon capped at AVX2, ``benchmarks/cpu_paths.py
  --emulate-kind avx2``): **fp32**, channels-last, eager. No bf16 instructions at all: a 4096x4096 bf16 matmul ran
  for more than 20 minutes. Zen 3: RealESRGAN_x4plus at 256 px 18.9 s (the original 33.6 s, ncnn fp32 21.3 s, ncnn
  bf16 storage 16.1 s); realesr-animevideov3 at 256 px 0.583 s (ncnn fp32 0.522 s). Emulated, bare network (x4plus
  64 / 256 px, animevideov3 64 / 256 px; speed over channels-last fp32; the table is in docs/performance.md):
  ``torch.jit.freeze`` with prepacked weights 0.95 / 1.10 / 1.02 / 1.06x (its first call 10 / 107 s for x4plus),
  inductor with freezing 1.05 / 1.06 / 0.95 / 0.88x (compiled in 36 / 46 / 5 / 6 s), NNPACK's Winograd convolutions
  0.49 / 0.89 / 0.61 / 1.01x; the contiguous layout, threads pinned to cores and RealESRGANer's banded RRDBNet tail
  (against the whole tail at once) all within 0.95-1.05x; ncnn fp32 1.32 / 1.11 / 1.67 / 1.08x, ncnn bf16 storage
  1.45 / 1.23 / 1.66 / 1.22x. oneDNN's direct convolutions already run at the cores' AVX2 FMA peak (about 195
  GFLOP/s on 2 cores); ncnn's lead is its Winograd 3x3 convolutions (fewer multiplications), which no torch path
  matches. So the default stays fp32, ncnn stays faster on this kind (1.1-1.7x), and none of the paths above reaches
  the 1.3x an extra path must bring.
* Older CPUs (no AVX2): **fp32**, never measured.

A kind not listed here gets fp32. A new kind is one entry in :data:`CPU_KIND_PRECISION` (and, if it needs other
flags, one branch in :func:`cpu_kind_of`), with its measured figures added above; explicit ``bf16`` can always be
asked for.

fp16 is never used on a CPU: PyTorch either lacks the kernels (``"slow_conv2d_cpu" not implemented for 'Half'``) or
runs them far slower than fp32, so an fp16 request on a CPU falls back to fp32 with a warning. A model that declares
fp16 or bf16 unsafe (many transformer architectures that spandrel loads are not fp16-safe) never runs in it: ``auto``
then picks fp32, and an explicit request falls back to fp32 with a warning. Reduced precision runs under
:func:`torch.autocast`, so the weights stay in fp32 and an image can be redone in fp32 at any time.
"""

import contextlib
import functools
import logging
import os
from typing import TYPE_CHECKING, ContextManager, Dict, Mapping, Optional, Set

from realesrgan.zoo.traits import ModelTraits

if TYPE_CHECKING:
    import torch

__all__ = [
    'CPU_KIND_PRECISION',
    'PRECISIONS',
    'amd_full_width_bf16',
    'autocast',
    'cpu_bf16_is_faster',
    'cpu_has_native_bf16',
    'cpu_kind',
    'cpu_kind_of',
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

# The CPU kinds the choice is stated for (the module's text gives the measurements behind each)
CPU_KIND_AMX_BF16 = 'AMX-BF16'
CPU_KIND_ZEN5_BF16 = 'AVX-512 with full-width AVX512-BF16 (AMD Zen 5), no AMX'
CPU_KIND_AVX512_BF16 = 'AVX-512 with AVX512-BF16, no AMX'
CPU_KIND_AVX512 = 'AVX-512, no bf16'
CPU_KIND_AVX2 = 'AVX2, no AVX-512'
CPU_KIND_OLDER = 'no AVX2'
# What ``--precision auto`` runs on each CPU kind
CPU_KIND_PRECISION = {
    CPU_KIND_AMX_BF16: 'bf16',
    CPU_KIND_ZEN5_BF16: 'bf16',
    CPU_KIND_AVX512_BF16: 'fp32',
    CPU_KIND_AVX512: 'fp32',
    CPU_KIND_AVX2: 'fp32',
    CPU_KIND_OLDER: 'fp32',
}


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


def _cpuinfo_flags() -> Set[str]:
    return set(cpuinfo_fields().get('flags', '').split())


def _is_amd_full_width_bf16(fields: Mapping[str, str], flags: Set[str]) -> bool:
    family = fields.get('cpu family', '')
    return (
        fields.get('vendor_id') == 'AuthenticAMD'
        and family.isdigit()
        and int(family) >= _AMD_FULL_WIDTH_BF16_FAMILY
        and 'avx512_bf16' in flags
    )


def amd_full_width_bf16() -> bool:
    """Whether this is an AMD CPU of family 26 or newer (Zen 5) with AVX512-BF16, which runs bf16 at full width."""
    return _is_amd_full_width_bf16(cpuinfo_fields(), _cpuinfo_flags())


def _flags_above(isa_ceiling: Optional[str]) -> Set[str]:
    """The ``/proc/cpuinfo`` flags that oneDNN may not use under a ``ONEDNN_MAX_CPU_ISA`` ceiling."""
    ceiling = (isa_ceiling or '').upper()
    if not ceiling or ceiling in ('ALL', 'DEFAULT'):
        return set()
    if ceiling.startswith(('SSE', 'AVX2')) or ceiling == 'AVX':
        above = {'avx512f', 'avx512_bf16', 'amx_bf16'}
        return above if ceiling.startswith('AVX2') else above | {'avx2'}
    if ceiling in ('AVX512_CORE', 'AVX512_CORE_VNNI'):
        return {'avx512_bf16', 'amx_bf16'}
    return set() if 'AMX' in ceiling else {'amx_bf16'}


def cpu_kind_of(fields: Mapping[str, str], isa_ceiling: Optional[str] = None) -> str:
    """The CPU kind (one of the keys of :data:`CPU_KIND_PRECISION`) of a processor's ``/proc/cpuinfo`` fields.

    Args:
        fields: ``flags``, ``vendor_id`` and ``cpu family``, as :func:`cpuinfo_fields` gives them.
        isa_ceiling: oneDNN's instruction-set ceiling (``ONEDNN_MAX_CPU_ISA``, e.g. ``'AVX2'``): the CPU then
            counts as the kind oneDNN is allowed to run as.

    Returns:
        E.g. ``'AMX-BF16'`` or ``'AVX2, no AVX-512'``.
    """
    flags = set(fields.get('flags', '').split()) - _flags_above(isa_ceiling)
    if 'amx_bf16' in flags:
        return CPU_KIND_AMX_BF16
    if 'avx512f' in flags and 'avx512_bf16' in flags:
        return CPU_KIND_ZEN5_BF16 if _is_amd_full_width_bf16(fields, flags) else CPU_KIND_AVX512_BF16
    if 'avx512f' in flags:
        return CPU_KIND_AVX512
    return CPU_KIND_AVX2 if 'avx2' in flags else CPU_KIND_OLDER


def cpu_kind() -> str:
    """This machine's CPU kind (:func:`cpu_kind_of` of its ``/proc/cpuinfo``; ``'no AVX2'`` where that is missing).

    A ceiling set for oneDNN in the environment (``ONEDNN_MAX_CPU_ISA``, or its older name ``DNNL_MAX_CPU_ISA``)
    lowers the kind to what oneDNN may run, so that ``auto`` follows it (and a benchmark can emulate a kind).
    """
    ceiling = os.environ.get('ONEDNN_MAX_CPU_ISA') or os.environ.get('DNNL_MAX_CPU_ISA')
    return cpu_kind_of(cpuinfo_fields(), ceiling)


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
    """Whether bf16 inference was measured faster than fp32 on CPUs of this kind (:data:`CPU_KIND_PRECISION`).

    Returns:
        True with oneDNN bf16 support on a kind whose entry is bf16 (AMX-BF16; AMD Zen 5 with AVX512-BF16).
    """
    return cpu_has_native_bf16() and CPU_KIND_PRECISION.get(cpu_kind()) == 'bf16'


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
