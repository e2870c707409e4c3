"""Carrying the audio streams of the input video into the output.

Audio packets are copied unchanged (no decoding, no quality loss) and keep their timing relative to the video,
so the output stays in sync. Only a codec that MP4 cannot hold (old AVI files with u-law or 8-bit PCM, for
instance) is re-encoded, to AAC, with a warning. A packet whose data is incomplete (the last one of a truncated
file) is left out.
"""

import logging
from fractions import Fraction
from typing import Dict, Iterator, Optional

import av

logger = logging.getLogger(__name__)

FALLBACK_CODEC = 'aac'


class AudioCarrier:
    """Copy every audio stream of ``path`` into an output container.

    Call :meth:`add_streams` before the output is written to, then mux what :meth:`packets` yields; the input
    file stays open until the packets are exhausted.

    Args:
        path: The input video file.
        start_time: Time zero of the output, in seconds of the input's clock (the video is moved by the same).
    """

    def __init__(self, path: str, start_time: Fraction = Fraction(0)) -> None:
        self.path = path
        self.start_time = Fraction(start_time)
        self._input: Optional[av.container.InputContainer] = None
        self._outputs: Dict[int, av.AudioStream] = {}
        self._encoded: Dict[int, bool] = {}

    def add_streams(self, output: av.container.OutputContainer) -> None:
        """Create one output stream per input audio stream: a copy when MP4 can hold the codec, else AAC.

        Args:
            output: The container that will receive :meth:`packets`.
        """
        self._input = av.open(self.path)
        for stream in self._input.streams.audio:
            name = stream.codec_context.name
            if name in output.supported_codecs:
                self._outputs[stream.index] = output.add_stream_from_template(stream)
                self._encoded[stream.index] = False
            else:
                logger.warning(
                    '%s: MP4 cannot hold %s audio; re-encoding audio stream %d to %s',
                    self.path,
                    name,
                    stream.index,
                    FALLBACK_CODEC,
                )
                rates = av.Codec(FALLBACK_CODEC, 'w').audio_rates or (stream.rate,)
                target = output.add_stream(FALLBACK_CODEC, rate=min(rates, key=lambda rate: abs(rate - stream.rate)))
                # the standard layout for the channel count (old files often leave the channel order unspecified)
                target.layout = av.AudioLayout(f'{stream.layout.nb_channels}c')
                self._outputs[stream.index] = target
                self._encoded[stream.index] = True

    def packets(self) -> Iterator[av.Packet]:
        """Yield the audio packets for the output, in the input's order, retimed to the output's clock."""
        if self._input is None:
            return
        with self._input:
            streams = [self._input.streams[index] for index in self._outputs]
            for packet in self._input.demux(streams):
                index = packet.stream.index
                if packet.is_corrupt:  # cut off (a truncated file): its samples cannot be decoded
                    continue
                if self._encoded[index]:
                    yield from self._reencode(packet)
                elif packet.size:
                    shift = round(self.start_time / packet.time_base)
                    packet.pts = None if packet.pts is None else packet.pts - shift
                    packet.dts = None if packet.dts is None else packet.dts - shift
                    packet.stream = self._outputs[index]
                    yield packet
        self._input = None

    def _reencode(self, packet: av.Packet) -> Iterator[av.Packet]:
        """Decode one packet (an empty one flushes) and encode its samples for the output stream."""
        target = self._outputs[packet.stream.index]
        for frame in packet.decode():
            if frame.pts is not None:
                frame.pts -= round(self.start_time / frame.time_base)
            yield from target.encode(frame)
        if not packet.size:
            yield from target.encode(None)
