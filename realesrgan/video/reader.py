"""Reading the frames to upscale: a video file decoded by PyAV, or a folder of images sorted by name.

:func:`probe_source` looks at the input once, in the parent process, and records what the job needs: the
frame size, the presentation time of every frame (from a demux pass, which reads packets without decoding
them, so it is quick even for long files), the number of audio streams, and from the first decoded frame the
picture's description: bits per sample, colour tags, sample aspect ratio and display matrix (rotation).
:func:`read_frames` then gives a worker the BGR frames of one contiguous index range (uint8, or uint16 for input
of more than 8 bits, so the network sees 10-bit video at full precision): it seeks to the keyframe before the
range instead of decoding the file from its start.

A truncated file (a download or a copy cut short) still opens when its index comes first, as in MP4 files made
for streaming: it declares more frames than it holds, and its last packet is incomplete. Incomplete packets are
left out everywhere (fed to the decoder, one makes it drop the frames before it), the readable frames are
upscaled and :func:`describe_shortfall` says what is missing.
"""

import bisect
import logging
import os
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterator, List, NamedTuple, Optional, Tuple

import av
import cv2
import numpy as np
from PIL import Image

from realesrgan.fileio.images import IMAGE_EXTENSIONS, decode_buffer
from realesrgan.video.color import CONVERSION_FLAGS, ColorTags
from realesrgan.video.errors import VideoInputError

logger = logging.getLogger(__name__)

DEFAULT_FOLDER_FPS = Fraction(24)
# demuxers that open a single picture as a one-frame "video"
_IMAGE_DEMUXERS = ('image2', 'webp_pipe', 'png_pipe', 'jpeg_pipe', 'bmp_pipe', 'tiff_pipe')


@dataclass(frozen=True)
class VideoSource:
    """What the job knows about its input; small and picklable, so every worker gets a copy.

    Attributes:
        path: The video file, or the folder of frames.
        width: Frame width in pixels.
        height: Frame height in pixels.
        time_base: Unit of ``frame_pts`` and ``end_pts``, in seconds.
        frame_pts: Presentation timestamp of every frame, ascending.
        end_pts: When the last frame stops being shown (its timestamp plus its duration).
        frame_rate: Nominal frame rate, as players report it.
        start_time: Earliest start of the video and audio streams in seconds: time zero of the output.
        audio_streams: Number of audio streams in the input file.
        frame_files: When frames come from image files, one path per frame; empty when they are decoded.
        seekable: Whether every packet had a timestamp, so that workers may seek; otherwise they decode from
            the start of the file.
        declared_frames: Number of frames the file's header declares (0 when it does not say).
        incomplete_frames: Frames left out because their packet's data is incomplete (cut off).
        audio_end: When the last complete audio packet ends, in seconds of the input's clock (``None``: no
            audio packet).
        bits_per_sample: Bits per colour sample of the decoded frames (8, or 10 for HDR video).
        color: The input's colour description.
        sample_aspect_ratio: Shape of a pixel (width / height), ``None`` when square or unknown.
        display_matrix: FFmpeg's display matrix (9 numbers: rotation and flips for display), or ``None``.
    """

    path: str
    width: int
    height: int
    time_base: Fraction
    frame_pts: Tuple[int, ...]
    end_pts: int
    frame_rate: Fraction
    start_time: Fraction = Fraction(0)
    audio_streams: int = 0
    frame_files: Tuple[str, ...] = ()
    seekable: bool = True
    declared_frames: int = 0
    incomplete_frames: int = 0
    audio_end: Optional[Fraction] = None
    bits_per_sample: int = 8
    color: ColorTags = ColorTags()
    sample_aspect_ratio: Optional[Fraction] = None
    display_matrix: Optional[Tuple[int, ...]] = None

    @property
    def high_depth(self) -> bool:
        """Whether frames are read as uint16 (more than 8 bits per sample)."""
        return self.bits_per_sample > 8

    @property
    def num_frames(self) -> int:
        """Number of frames of the input."""
        return len(self.frame_pts)

    @property
    def duration(self) -> Fraction:
        """Duration of the video stream in seconds."""
        return (self.end_pts - self.frame_pts[0]) * self.time_base


def probe_source(path: str, fps: Optional[Fraction] = None) -> VideoSource:
    """Describe a video file or a folder of frames.

    Args:
        path: A video file, or a folder whose images (sorted by file name) are the frames.
        fps: Frame rate of a folder of frames (default 24). Ignored for video files (the job resamples those).

    Returns:
        The description of the input.

    Raises:
        VideoInputError: The path is missing, is not a readable video, has no video stream, or (for a
            folder) holds no images or images of different sizes.
    """
    if not os.path.exists(path):
        raise VideoInputError(f'input {path} does not exist; give a video file or a folder of frames')
    if os.path.isdir(path):
        return _probe_folder(path, fps or DEFAULT_FOLDER_FPS)
    return _probe_video(path)


def check_input(path: str) -> None:
    """A quick look at the input (no frame is decoded): it exists, and a file is a video FFmpeg can open.

    Raises:
        VideoInputError: As :func:`probe_source`, for what can be told without reading the frames.
    """
    if not os.path.exists(path):
        raise VideoInputError(f'input {path} does not exist; give a video file or a folder of frames')
    if not os.path.isdir(path):
        with _open_video(path) as container:
            _check_video_container(path, container)


def describe_shortfall(source: VideoSource) -> Optional[str]:
    """Say, in one line, that the input holds fewer frames than it declares (or has incomplete ones).

    Args:
        source: The probed input.

    Returns:
        E.g. ``'clip.mp4 declares 240 frames but only 111 can be read: ...'``, or ``None`` when nothing is
        missing.
    """
    if source.declared_frames > source.num_frames:
        missing = f'{source.path} declares {source.declared_frames} frames but only {source.num_frames} can be read'
    elif source.incomplete_frames:
        missing = f'{source.path}: {source.incomplete_frames} frame(s) have incomplete data and are left out'
    else:
        return None
    video_end = (source.end_pts * source.time_base) - source.start_time
    text = (
        f'{missing}: the file is truncated or damaged; the output has the {source.num_frames} readable frames '
        f'(to {float(video_end):.2f} s)'
    )
    if source.audio_streams and source.audio_end is not None:
        text += f' and the audio the file still holds (to {float(source.audio_end - source.start_time):.2f} s)'
    return text


def read_frames(source: VideoSource, start: int, stop: int) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield the frames ``start`` to ``stop - 1`` of the input in order.

    Args:
        source: The probed input.
        start: Index of the first frame.
        stop: One past the index of the last frame.

    Yields:
        ``(index, image)`` with ``image`` a BGR array of shape (height, width, 3): uint8, or uint16 when
        :attr:`VideoSource.high_depth`.

    Raises:
        VideoInputError: A frame cannot be read.
    """
    if source.frame_files:
        for index in range(start, stop):
            yield index, read_frame_file(source.frame_files[index], source.width, source.height, source.high_depth)
    else:
        yield from _decode_frames(source, start, stop)


def read_frame_file(path: str, width: int, height: int, high_depth: bool = False) -> np.ndarray:
    """Read one frame image (non-ASCII paths are fine) as BGR uint8 (or uint16).

    Gray images become three-channel, an alpha channel is dropped (video has none) and 16-bit images are
    scaled to 8 bits (8-bit ones to 16 with ``high_depth``).

    Args:
        path: The image file.
        width: Expected width.
        height: Expected height.
        high_depth: Give uint16 (frames extracted from 10-bit video).

    Returns:
        The frame, shape (height, width, 3), uint8 or (with ``high_depth``) uint16.

    Raises:
        VideoInputError: The file is not a readable image or has another size.
    """
    img = decode_buffer(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise VideoInputError(f'frame {path} is not an image that OpenCV can read; replace or remove it')
    if img.shape[:2] != (height, width):
        raise VideoInputError(
            f'frame {path} is {img.shape[1]}x{img.shape[0]}, but the first frame is '
            f'{width}x{height}; all frames of a video must have the same size'
        )
    if img.dtype not in (np.uint8, np.uint16):
        raise VideoInputError(f'frame {path} has {img.dtype} pixels; use 8- or 16-bit images')
    if high_depth and img.dtype == np.uint8:
        img = img.astype(np.uint16) * 257
    elif not high_depth and img.dtype == np.uint16:
        img = np.round(img / 257.0).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, :3])
    return img


def extract_frames(source: VideoSource, folder: str, ext: str = 'png') -> VideoSource:
    """Decode every frame of a video into numbered image files (the ``--extract_frame_first`` mode).

    Args:
        source: A probed video file.
        folder: Existing folder for the images.
        ext: Image format: ``'png'`` (lossless, 16-bit for input of more than 8 bits) or ``'jpg'`` (8-bit).

    Returns:
        The same source, reading its frames from the images; timing and audio still come from the video.
    """
    files = []
    for index, image in _decode_frames(source, 0, source.num_frames):
        if ext == 'jpg' and image.dtype == np.uint16:
            image = np.round(image / 257.0).astype(np.uint8)  # JPEG holds 8 bits
        path = os.path.join(folder, f'{index:08d}.{ext}')
        ok, encoded = cv2.imencode(f'.{ext}', image)
        if not ok:
            raise VideoInputError(f'could not encode frame {index} as {ext}')
        encoded.tofile(path)
        files.append(path)
    return replace(source, frame_files=tuple(files))


def _probe_folder(folder: str, fps: Fraction) -> VideoSource:
    names = sorted(name for name in os.listdir(folder) if name.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise VideoInputError(
            f'folder {folder} holds no frames; put images ({", ".join(IMAGE_EXTENSIONS)}) '
            'in it, named so that sorting by name gives the frame order'
        )
    files = tuple(os.path.join(folder, name) for name in names)
    first = read_frame_file(files[0], *_image_size(files[0]))
    height, width = first.shape[:2]
    for path in files[1:]:
        if _image_size(path) != (width, height):
            # reading the frame gives the full message (unreadable file or the sizes)
            read_frame_file(path, width, height)
    return VideoSource(
        path=folder,
        width=width,
        height=height,
        time_base=1 / fps,
        frame_pts=tuple(range(len(files))),
        end_pts=len(files),
        frame_rate=fps,
        frame_files=files,
    )


def _image_size(path: str) -> Tuple[int, int]:
    """Width and height from the image header only (fast), or (0, 0) when the header is unreadable."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError):
        return 0, 0


def _open_video(path: str) -> av.container.InputContainer:
    try:
        return av.open(path)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoInputError(
            f'{path} is not a video file that FFmpeg can read ({exc}); give a video file or a folder of frames'
        ) from None


def _probe_video(path: str) -> VideoSource:
    with _open_video(path) as container:
        _check_video_container(path, container)
        stream = container.streams.video[0]
        time_base = stream.time_base
        starts = [Fraction(s.start_time) * s.time_base for s in container.streams.audio if s.start_time is not None]
        audio_streams = len(container.streams.audio)
        timestamps: List[Optional[int]] = []
        durations: List[int] = []
        incomplete = 0
        audio_end: Optional[Fraction] = None
        for packet in container.demux(stream, *container.streams.audio):
            if not packet.size or packet.is_discard:
                continue
            if packet.stream.index != stream.index:
                if not packet.is_corrupt and packet.pts is not None:
                    end = (packet.pts + (packet.duration or 0)) * Fraction(packet.time_base)
                    audio_end = end if audio_end is None else max(audio_end, end)
            elif packet.is_corrupt:
                incomplete += 1
            else:
                timestamps.append(packet.pts)
                durations.append(packet.duration or 0)
        frame_rate = stream.average_rate or stream.guessed_rate
        declared_frames = stream.frames
        sample_aspect_ratio = stream.sample_aspect_ratio
    picture = _first_frame_picture(path)
    if not timestamps:
        raise VideoInputError(f'the video stream of {path} holds no frames')
    seekable = None not in timestamps
    if not seekable:
        # some raw streams carry no timestamps: number the frames at the nominal rate instead
        frame_rate = frame_rate or DEFAULT_FOLDER_FPS
        time_base = 1 / Fraction(frame_rate)
        timestamps = list(range(len(timestamps)))
        durations = [1] * len(timestamps)
    order = sorted(range(len(timestamps)), key=timestamps.__getitem__)
    frame_pts = tuple(timestamps[i] for i in order)
    last_duration = durations[order[-1]] or _typical_interval(frame_pts, frame_rate, time_base)
    if not frame_rate:
        frame_rate = len(frame_pts) / ((frame_pts[-1] + last_duration - frame_pts[0]) * Fraction(time_base))
    return VideoSource(
        path=path,
        width=picture.width,
        height=picture.height,
        time_base=Fraction(time_base),
        frame_pts=frame_pts,
        end_pts=frame_pts[-1] + last_duration,
        frame_rate=Fraction(frame_rate),
        start_time=min([frame_pts[0] * Fraction(time_base)] + starts),
        audio_streams=audio_streams,
        seekable=seekable,
        declared_frames=declared_frames,
        incomplete_frames=incomplete,
        audio_end=audio_end,
        bits_per_sample=picture.bits_per_sample,
        color=picture.color,
        sample_aspect_ratio=Fraction(sample_aspect_ratio) if sample_aspect_ratio not in (None, 1) else None,
        display_matrix=picture.display_matrix,
    )


def _check_video_container(path: str, container: av.container.InputContainer) -> None:
    if container.format.name in _IMAGE_DEMUXERS:
        raise VideoInputError(
            f'{path} is a single image, not a video; use inference_realesrgan.py for images, or give a folder of frames'
        )
    if not container.streams.video:
        found = ', '.join(stream.type for stream in container.streams) or 'none'
        raise VideoInputError(
            f'{path} has no video stream (streams found: {found}); give a video file or a folder of frames'
        )


def _typical_interval(frame_pts: Tuple[int, ...], frame_rate: Optional[Fraction], time_base: Fraction) -> int:
    """The usual distance between two frames, for a last frame whose packet has no duration."""
    if len(frame_pts) > 1:
        return max(1, round((frame_pts[-1] - frame_pts[0]) / (len(frame_pts) - 1)))
    return max(1, round(1 / (Fraction(frame_rate or DEFAULT_FOLDER_FPS) * Fraction(time_base))))


class _Picture(NamedTuple):
    width: int
    height: int
    bits_per_sample: int
    color: ColorTags
    display_matrix: Optional[Tuple[int, ...]]


def _first_frame_picture(path: str) -> _Picture:
    """Decode the first frame: proves that the stream is decodable, and gives its real size and description."""
    with _open_video(path) as container:
        try:
            frame = next(_complete_frames(container, container.streams.video[0]), None)
        except av.error.FFmpegError as exc:
            raise VideoInputError(f'cannot decode the video stream of {path} ({exc})') from None
    if frame is None:
        raise VideoInputError(f'the video stream of {path} holds no decodable frame')
    bits = max(component.bits for component in frame.format.components)
    color = ColorTags(frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range)
    matrix = frame.side_data.get('DISPLAYMATRIX')
    display_matrix = tuple(int(v) for v in np.frombuffer(bytes(matrix), np.int32)) if matrix is not None else None
    return _Picture(frame.width, frame.height, bits, color, display_matrix)


def _decode_frames(source: VideoSource, start: int, stop: int) -> Iterator[Tuple[int, np.ndarray]]:
    """Decode frames ``start`` to ``stop - 1``; a frame the decoder skips is replaced by its predecessor."""
    expected = start
    previous = None
    for index, frame in _indexed_frames(source, start):
        if index < expected:
            continue
        image = _to_bgr(frame, source.high_depth)
        if index > expected:
            logger.warning(
                '%s: frames %d-%d could not be decoded; repeating the frame before them to keep the timing',
                source.path,
                expected,
                index - 1,
            )
        while expected < min(index, stop):
            yield expected, image if previous is None else previous
            expected += 1
        if index >= stop:
            return
        yield index, image
        previous = image
        expected = index + 1
    if expected < stop:
        raise VideoInputError(
            f'{source.path}: decoding stopped at frame {expected} of {source.num_frames}; the '
            'file may be damaged or truncated'
        )


def _indexed_frames(source: VideoSource, start: int) -> Iterator[Tuple[int, av.VideoFrame]]:
    """Decoded frames with their index, seeking near ``start`` when timestamps allow it."""
    with av.open(source.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        if not source.seekable:
            yield from enumerate(_complete_frames(container, stream))
            return
        if start > 0:
            container.seek(source.frame_pts[start], stream=stream, backward=True, any_frame=False)
        for frame in _complete_frames(container, stream):
            index = bisect.bisect_left(source.frame_pts, frame.pts) if frame.pts is not None else -1
            if index < 0 or index >= source.num_frames or source.frame_pts[index] != frame.pts:
                break
            yield index, frame
        else:
            return
    logger.warning('%s: a decoded frame has an unknown timestamp; decoding from the start instead', source.path)
    yield from _indexed_frames(replace(source, seekable=False), start)


def _complete_frames(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """Decode ``stream``, leaving out packets whose data is incomplete (as :func:`probe_source` does)."""
    for packet in container.demux(stream):
        if not packet.is_corrupt:
            yield from packet.decode()


def _to_bgr(frame: av.VideoFrame, high_depth: bool = False) -> np.ndarray:
    """Convert with the frame's own colour matrix and range, interpolating the chroma with accurate rounding."""
    return frame.to_ndarray(
        format='bgr48le' if high_depth else 'bgr24',
        src_color_range=frame.color_range or None,
        interpolation=CONVERSION_FLAGS,
    )
