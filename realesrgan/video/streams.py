"""Carrying everything but the pixels from the input file into the output: streams, metadata, chapters.

Audio, subtitle and attachment streams are copied packet for packet (no decoding, no loss) and keep their timing
relative to the video, so the output stays in sync. What the output container cannot hold as it is gets converted
where that loses nothing a player shows: audio to the container's usual codec (AAC, or Opus for WebM), text
subtitles to the container's text format (``mov_text`` in MP4 and QuickTime, WebVTT in WebM, SubRip in
Matroska). What cannot be carried at all (picture subtitles in MP4, fonts outside Matroska, data streams) is
named, with the conversions, in one warning line (:meth:`StreamCarrier.describe_changes`), never dropped
silently. The file's metadata (title, ...), each stream's metadata (language, title, handler name) and its
disposition (default, forced, ...) and the chapters go along; packets whose data is incomplete (the last ones of
a truncated file) are left out.
"""

import logging
from fractions import Fraction
from typing import Callable, Dict, Iterator, List, Mapping, Optional

import av
from av.subtitles.stream import SubtitleStream
from av.subtitles.subtitle import SubtitleSet

__all__ = ['StreamCarrier', 'kept_metadata']

logger = logging.getLogger(__name__)

# output muxer -> what audio and text subtitles the container cannot hold become
AUDIO_FALLBACK = {'mp4': 'aac', 'mov': 'aac', 'matroska': 'aac', 'webm': 'libopus'}
TEXT_SUBTITLE_FORMAT = {'mp4': 'mov_text', 'mov': 'mov_text', 'matroska': 'subrip', 'webm': 'webvtt'}
TEXT_SUBTITLES = ('subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text')
_MUXER_NAMES = {'mp4': 'MP4', 'mov': 'QuickTime', 'matroska': 'Matroska', 'webm': 'WebM'}
# metadata that describes the old file's encoding rather than its content; the muxer writes its own
_STALE_METADATA = ('encoder', 'major_brand', 'minor_version', 'compatible_brands', 'vendor_id', 'duration')
_STALE_PREFIXES = ('duration-', '_statistics', 'number_of_', 'bps')
_SUBTITLE_TIME_BASE = Fraction(1, 1000)

Handler = Callable[[av.Packet], Iterator[av.Packet]]


def kept_metadata(metadata: Mapping[str, str]) -> Dict[str, str]:
    """The entries of a file's or stream's metadata that still hold for the upscaled output.

    Encoder names, file brands and the statistics Matroska keeps per stream (duration, bit rate, frame count)
    describe the old encoding and are left out; titles, languages, handler names, dates and the like are kept.
    """
    kept = {}
    for key, value in metadata.items():
        lowered = key.lower()
        if lowered not in _STALE_METADATA and not lowered.startswith(_STALE_PREFIXES):
            kept[key] = value
    return kept


def _describe(stream: av.stream.Stream) -> str:
    if stream.type == 'attachment':
        return f'attachment {stream.index} ({stream.metadata.get("filename", "unnamed")})'
    codec = stream.codec_context.name if stream.codec_context is not None else 'unknown codec'
    return f'{stream.type} stream {stream.index} ({codec})'


class StreamCarrier:
    """Carry the streams of ``path`` other than its (first) video stream into an output container.

    Call :meth:`add_streams` before the output is written to, then mux what :meth:`packets` yields; the input
    file stays open until the packets are exhausted.

    Args:
        path: The input video file.
        start_time: Time zero of the output, in seconds of the input's clock (the video is moved by the same).
        muxer: FFmpeg's name of the output format (``'mp4'``, ``'matroska'``, ``'mov'``, ``'webm'``).
    """

    def __init__(self, path: str, start_time: Fraction = Fraction(0), muxer: str = 'mp4') -> None:
        self.path = path
        self.start_time = Fraction(start_time)
        self.muxer = muxer
        self.left_out: List[str] = []
        self.converted: List[str] = []
        self._input: Optional[av.container.InputContainer] = None
        self._handlers: Dict[int, Handler] = {}

    def add_streams(self, output: av.container.OutputContainer, video: av.VideoStream) -> None:
        """Describe ``video`` as the input's video stream, add the other streams, copy metadata and chapters.

        Args:
            output: The container that will receive :meth:`packets` (nothing muxed yet).
            video: The output's video stream: gets the metadata and disposition of the input's.
        """
        self._input = source = av.open(self.path)
        output.metadata.update(kept_metadata(source.metadata))
        first_video = source.streams.video[0]
        video.metadata.update(kept_metadata(first_video.metadata))
        video.disposition = first_video.disposition
        for stream in source.streams:
            if stream.index == first_video.index:
                continue
            if stream.type == 'audio':
                self._add_audio(output, stream)
            elif stream.type == 'subtitle':
                self._add_subtitle(output, stream)
            elif stream.type == 'attachment' and self.muxer == 'matroska':
                output.add_stream_from_template(stream)
            else:
                self.left_out.append(_describe(stream))
        self._copy_chapters(output)

    def describe_changes(self) -> Optional[str]:
        """One line naming what the output could not hold (left out) and what was converted; ``None``: nothing."""
        parts = []
        if self.left_out:
            parts.append(f'{_MUXER_NAMES[self.muxer]} cannot hold {", ".join(self.left_out)}: left out')
        if self.converted:
            parts.append(f'converted {", ".join(self.converted)}')
        return f'{self.path}: {"; ".join(parts)}' if parts else None

    def packets(self) -> Iterator[av.Packet]:
        """Yield the packets of the carried streams in the input's order, retimed to the output's clock."""
        if self._input is None:
            return
        with self._input:
            streams = [self._input.streams[index] for index in self._handlers]
            for packet in self._input.demux(streams) if streams else ():
                if packet.is_corrupt:  # cut off (a truncated file): it cannot be decoded
                    continue
                yield from self._handlers[packet.stream.index](packet)
        self._input = None

    def _add_audio(self, output: av.container.OutputContainer, stream: av.AudioStream) -> None:
        try:
            target = output.add_stream_from_template(stream)
        except ValueError:  # the container cannot hold this codec
            target = self._audio_encoder(output, stream)
            self._handlers[stream.index] = lambda packet: self._reencode(packet, target)
        else:
            self._handlers[stream.index] = lambda packet: self._copy(packet, target)
        target.metadata.update(kept_metadata(stream.metadata))
        target.disposition = stream.disposition

    def _audio_encoder(self, output: av.container.OutputContainer, stream: av.AudioStream) -> av.AudioStream:
        codec = AUDIO_FALLBACK[self.muxer]
        self.converted.append(f'{_describe(stream)} to {codec}')
        rates = av.Codec(codec, 'w').audio_rates or (stream.rate,)
        target = output.add_stream(codec, rate=min(rates, key=lambda rate: abs(rate - stream.rate)))
        # the standard layout for the channel count (old files often leave the channel order unspecified)
        target.layout = av.AudioLayout(f'{stream.layout.nb_channels}c')
        return target

    def _add_subtitle(self, output: av.container.OutputContainer, stream: SubtitleStream) -> None:
        try:
            target = output.add_stream_from_template(stream)
        except ValueError:  # the container cannot hold this codec
            target = None
        if target is not None:
            self._handlers[stream.index] = lambda packet: self._copy(packet, target)
        elif stream.codec_context.name in TEXT_SUBTITLES:
            codec = TEXT_SUBTITLE_FORMAT[self.muxer]
            self.converted.append(f'{_describe(stream)} to {codec}')
            decoder = stream.codec_context
            decoder.open(False)  # makes the decoder's ASS header, which the encoder starts from
            target = output.add_stream(codec)
            target.time_base = _SUBTITLE_TIME_BASE
            target.codec_context.time_base = _SUBTITLE_TIME_BASE
            target.codec_context.subtitle_header = decoder.subtitle_header
            self._handlers[stream.index] = lambda packet: self._convert_text(packet, target)
        else:
            self.left_out.append(_describe(stream))
            return
        target.metadata.update(kept_metadata(stream.metadata))
        target.disposition = stream.disposition

    def _copy_chapters(self, output: av.container.OutputContainer) -> None:
        chapters = []
        for chapter in self._input.chapters():
            shift = round(self.start_time / chapter['time_base'])
            chapters.append({**chapter, 'start': chapter['start'] - shift, 'end': chapter['end'] - shift})
        if chapters:
            output.set_chapters(chapters)

    def _shift(self, time_base: Fraction) -> int:
        return round(self.start_time / time_base)

    def _copy(self, packet: av.Packet, target: av.stream.Stream) -> Iterator[av.Packet]:
        if packet.size:
            shift = self._shift(packet.time_base)
            packet.pts = None if packet.pts is None else packet.pts - shift
            packet.dts = None if packet.dts is None else packet.dts - shift
            packet.stream = target
            yield packet

    def _reencode(self, packet: av.Packet, target: av.AudioStream) -> Iterator[av.Packet]:
        """Decode one audio packet (an empty one flushes) and encode its samples for the output stream."""
        for frame in packet.decode():
            if frame.pts is not None:
                frame.pts -= self._shift(frame.time_base)
            yield from target.encode(frame)
        if not packet.size:
            yield from target.encode(None)

    def _convert_text(self, packet: av.Packet, target: SubtitleStream) -> Iterator[av.Packet]:
        """Decode one text subtitle and encode its lines in the output's text format, in milliseconds."""
        if not packet.size or packet.pts is None:
            return
        start = round((packet.pts * packet.time_base - self.start_time) / _SUBTITLE_TIME_BASE)
        duration = round((packet.duration or 0) * packet.time_base / _SUBTITLE_TIME_BASE)
        for line in packet.decode():
            text = getattr(line, 'ass', None)
            if not text:
                continue
            converted = target.codec_context.encode_subtitle(SubtitleSet.create(text, 0, duration, pts=start))
            converted.stream = target
            converted.time_base = _SUBTITLE_TIME_BASE
            converted.pts = converted.dts = start
            converted.duration = duration
            yield converted
