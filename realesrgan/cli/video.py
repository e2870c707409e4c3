"""The video command line: upscale a video (or a folder of frames) with Real-ESRGAN, keeping its sound.

    python inference_realesrgan_video.py -i inputs/video.mp4 -n realesr-animevideov3 -s 2

Writes ``<output>/<name>_<suffix>.mp4`` (H.264, the input's audio copied). Decoding and encoding use PyAV,
whose wheel ships FFmpeg: no ffmpeg program is needed. The frames are cut into segments that several worker
processes upscale at once (``--num_process_per_gpu`` per GPU, or that many on the CPU); the work is done by
:mod:`realesrgan.video.job`. Exit status: 0 when the video was written, 1 when the job failed (a worker crashed:
the message names the segment; nothing is left behind), 2 when it could not start (the message says why).
"""

import argparse
import signal
import sys
from fractions import Fraction
from typing import List, Optional


def parse_fps(text: str) -> Fraction:
    """``--fps`` value: a number (``25``, ``23.976``) or a ratio (``24000/1001``), positive."""
    try:
        fps = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f'not a frame rate: {text!r} (use e.g. 25, 23.976 or 24000/1001)') from None
    if fps <= 0:
        raise argparse.ArgumentTypeError(f'the frame rate must be positive, got {text}')
    return fps


def build_parser() -> argparse.ArgumentParser:
    """The command line: the original script's flags and defaults, then this project's additions."""
    from realesrgan.cli.options import add_engine_options, add_original_options, add_version_option, add_worker_options
    from realesrgan.inference.model_choice import DEFAULT_VIDEO_MODEL
    from realesrgan.video import PIXEL_FORMATS, X264_PRESETS, EncoderSettings
    from realesrgan.zoo import MODEL_ZOO

    encoder = EncoderSettings()
    parser = argparse.ArgumentParser(
        description='Upscale a video (or a folder of frames) with Real-ESRGAN, keeping its sound.'
    )
    parser.add_argument(
        '-i', '--input', type=str, default='inputs', help='Input video file, or folder of frames (default: inputs)'
    )
    parser.add_argument(
        '-n',
        '--model_name',
        type=str,
        default=None,
        help=f'Model name (default {DEFAULT_VIDEO_MODEL}; with --model_path alone, detected from the file): '
        f'{", ".join(MODEL_ZOO)}',
    )
    add_version_option(parser)
    add_original_options(parser, 'video')
    parser.add_argument(
        '--face_enhance',
        action='store_true',
        help='Use GFPGAN to enhance face (needs gfpgan; ignored for anime models)',
    )
    parser.add_argument(
        '--fps',
        type=parse_fps,
        default=None,
        help='FPS of the output video: frames are repeated or dropped, so the duration and the audio '
        "sync are kept (default: the input's frames and timing); for a folder of frames, their "
        'rate (default 24). A number (25, 23.976) or a ratio (24000/1001)',
    )
    parser.add_argument(
        '--ffmpeg_bin',
        type=str,
        default='ffmpeg',
        help='Accepted for compatibility and not used: PyAV decodes and encodes with the FFmpeg of its wheel',
    )
    parser.add_argument(
        '--extract_frame_first',
        action='store_true',
        help='Decode all frames to image files (in a temporary folder beside the output) first, then upscale those',
    )
    add_worker_options(parser)
    parser.add_argument(
        '--ext',
        type=str,
        default='auto',
        choices=('auto', 'jpg', 'png'),
        help='Image format of the frames written by --extract_frame_first (default auto: png)',
    )
    parser.add_argument(
        '--crf',
        type=float,
        default=encoder.crf,
        help=f'x264 quality: 0 lossless, 18 visually lossless, 51 worst (default: {encoder.crf:g}, '
        'as x264 and the original)',
    )
    parser.add_argument(
        '--preset',
        type=str,
        default=encoder.preset,
        help=f'x264 speed preset, {", ".join(X264_PRESETS)}: slower gives a smaller file of the same '
        f'quality (default: {encoder.preset})',
    )
    parser.add_argument(
        '--pix_fmt',
        type=str,
        default=encoder.pix_fmt,
        help=f'{" or ".join(PIXEL_FORMATS)}: yuv420p plays everywhere (odd sizes are padded by one '
        f'pixel); yuv444p keeps full colour and, with --crf 0, is near lossless (default: '
        f'{encoder.pix_fmt})',
    )
    parser.add_argument(
        '--model_path',
        type=str,
        default=None,
        help='Model weights (file or URL) instead of the official ones of --model_name',
    )
    add_engine_options(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)

    from realesrgan.cli.options import configure_logging, report_error

    try:
        from realesrgan.video.job import VideoJob, VideoJobSetupError, run_video_job
    except ImportError as error:  # PyAV missing or broken: the message says what to install
        return report_error(error)
    from realesrgan.video import VideoInputError, VideoJobError

    configure_logging()
    if args.ffmpeg_bin != 'ffmpeg':
        print('Note: --ffmpeg_bin is not needed and not used: PyAV decodes and encodes with its own FFmpeg.')
    bar = _FrameBar()
    try:
        summary = run_video_job(VideoJob.from_args(args), log=print, progress=bar.update, on_start=bar.start)
    except (VideoJobSetupError, VideoInputError) as error:
        return report_error(error)
    except VideoJobError as error:
        print(f'error: {error}; nothing was written', file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM (VideoJobTerminated carries its number)
        print('interrupted; nothing was written', file=sys.stderr)
        return 128 + getattr(interruption, 'signum', signal.SIGINT)
    finally:
        bar.close()
    print(summary.describe())
    for warning in summary.result.warnings:
        print(f'warning: {warning}')
    return 0


class _FrameBar:
    """A tqdm bar over the frames of the job, opened once their number is known (after the input is probed)."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit='frame', desc='upscaling', dynamic_ncols=True)

    def update(self, frames: int) -> None:
        self.bar.update(frames)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
