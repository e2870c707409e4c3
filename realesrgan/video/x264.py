"""Making x264 encodes repeatable: the same frames must give the same stream, run after run.

x264's AVX-512 code reads memory it never initialised for some frame sizes (seen with the x264 in PyAV 18 on an
AVX-512 Xeon, frame widths that are not a multiple of 64, macroblock-tree rate control on): the same frames then
encode to streams that differ from run to run, so one worker and two would not give the same file. Leaving
AVX-512 out of the instruction sets x264 uses makes every encode repeatable; AVX2 does the same work nearly as
fast. x264 has no option to remove one instruction set, only ``asm=<list>`` to give them all, and no API to
ask which ones it detected; it does print them (``using cpu capabilities: MMX2 ... AVX2 AVX512``) when an encoder
opens, so the list is read from that message, checked by opening an encoder with it, and used without AVX512.
"""

import functools
from fractions import Fraction
from typing import Dict, List, Optional

import av
import av.logging

_CAPABILITIES = 'using cpu capabilities:'


@functools.lru_cache(maxsize=None)
def repeatable_x264_params() -> Dict[str, str]:
    """Encoder options that keep libx264 off its AVX-512 code (empty when it would not use it anyway).

    Returns:
        ``{'x264-params': 'asm=...'}`` on CPUs where x264 uses AVX-512, else ``{}`` (also when x264 does not
        report its instruction sets in a form this function understands).
    """
    features = _detected_features()
    if not features or 'AVX512' not in features:
        return {}
    options = {'x264-params': 'asm=' + ','.join(name for name in features if name != 'AVX512')}
    try:
        _open_encoder(options)
    except av.error.FFmpegError:
        return {}
    return options


def _detected_features() -> Optional[List[str]]:
    """The instruction sets x264 reports when it opens, e.g. ``['MMX2', 'SSE2Fast', ..., 'AVX512']``."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture(True) as messages:
            _open_encoder({})
    finally:
        av.logging.set_level(previous)
    for _, _, message in messages:
        if message.startswith(_CAPABILITIES):
            return message[len(_CAPABILITIES) :].split()
    return None


def _open_encoder(options: Dict[str, str]) -> None:
    codec = av.CodecContext.create('libx264', 'w')
    codec.width, codec.height, codec.pix_fmt = 64, 64, 'yuv420p'
    codec.time_base, codec.framerate = Fraction(1, 25), Fraction(25)
    codec.options = dict(options)
    codec.open()
