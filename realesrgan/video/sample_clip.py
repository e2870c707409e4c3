"""Write small H.264 clips with a sine-tone AAC track: a sample to try the video CLI on, and test/benchmark input."""

from typing import Iterator, Optional, Sequence, Tuple

import av
import cv2
import numpy as np

__all__ = ['panning_frames', 'write_clip']

_AUDIO_RATE = 16000
_TONE_HZ = 440


def panning_frames(photo: np.ndarray, size: Tuple[int, int], num_frames: int) -> Iterator[np.ndarray]:
    """Frames of a camera pan from left to right over a photo, one pixel per frame.

    Args:
        photo: BGR uint8 image (enlarged when it is too small for the pan).
        size: ``(width, height)`` of the frames.
        num_frames: Number of frames.

    Yields:
        Contiguous BGR uint8 frames of ``size``.
    """
    width, height = size
    scale = max((width + num_frames) / photo.shape[1], height / photo.shape[0])
    if scale > 1:
        photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    for k in range(num_frames):
        yield np.ascontiguousarray(photo[:height, k : k + width])


def write_clip(
    path: str,
    frames: Sequence[np.ndarray],
    fps: int = 24,
    audio_codec: Optional[str] = 'aac',
    gop: int = 12,
    container: Optional[str] = None,
) -> str:
    """Encode BGR frames as H.264 (yuv420p, B-frames, a keyframe every ``gop`` frames) with a mono tone as long.

    Args:
        path: Output file.
        frames: BGR uint8 frames, all of one even size.
        fps: Frame rate.
        audio_codec: Codec of the tone track (``'aac'``), or None for a silent clip.
        gop: Frames between keyframes.
        container: Container format; None chooses it from the extension.

    Returns:
        ``path``.
    """
    frames = list(frames)
    height, width = frames[0].shape[:2]
    with av.open(path, mode='w', format=container) as output:
        video = output.add_stream('libx264', rate=fps, options={'g': str(gop), 'bf': '2', 'preset': 'fast'})
        video.width, video.height, video.pix_fmt = width, height, 'yuv420p'
        sound = None
        if audio_codec:
            sound = output.add_stream(audio_codec, rate=_AUDIO_RATE)
            sound.layout = 'mono'
        for frame in frames:
            output.mux(video.encode(av.VideoFrame.from_ndarray(frame, format='bgr24')))
        output.mux(video.encode(None))
        if sound is not None:
            samples = round(_AUDIO_RATE * len(frames) / fps)
            wave = (0.3 * np.sin(2 * np.pi * _TONE_HZ * np.arange(samples) / _AUDIO_RATE)).astype(np.float32)
            tone = av.AudioFrame.from_ndarray(wave[None], format='flt', layout='mono')
            tone.sample_rate, tone.pts = _AUDIO_RATE, 0
            output.mux(sound.encode(tone))
            output.mux(sound.encode(None))
    return path
