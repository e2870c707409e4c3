"""The video command line: upscale a video (or a folder of frames) with Real-ESRGAN, keeping its sound.

    python inference_realesrgan_video.py -i inputs/video.mp4 -n realesr-animevideov3 -s 2

Writes ``<output>/<name>_<suffix>.mp4`` (H.264), or ``-o`` when it names a ``.mp4``/``.mkv``/``.mov``/``.webm``
file, or ``.<--container>``; ``--codec`` picks h264, h265, av1, vp9, prores or ffv1. Every stream the container can
hold is carried over (audio, subtitles, attachments, chapters, metadata), and the rotation, aspect ratio, colour
tags and 10-bit depth are kept (see docs/video.md). Decoding and encoding use PyAV, whose wheel ships FFmpeg: no
ffmpeg program is needed. The frames are cut into segments that several worker processes upscale at once
(``--num_process_per_gpu`` per GPU, or that many on the CPU); the work is done by :mod:`realesrgan.video.job`.
The output and the input are checked before the engine loads (a wrong input is answered at once). A job that does
not finish keeps its finished segments, and the same command run again goes on from them (``--no_resume``: start
afresh, leave nothing behind). Exit status: 0 when the video was written, 1 when the job failed (a worker crashed:
the message names the segment), 2 when it could not start (the message says why).
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
    from realesrgan.cli.options import (
        add_engine_options,
        add_original_options,
        add_ray_option,
        add_version_option,
        add_worker_options,
    )
    from realesrgan.inference.model_choice import DEFAULT_VIDEO_MODEL
    from realesrgan.video import CODECS, CONTAINERS, PIXEL_FORMATS, X264_PRESETS
    from realesrgan.zoo import MODEL_ZOO

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
    add_ray_option(parser)
    parser.add_argument(
        '--ext',
        type=str,
        default='auto',
        choices=('auto', 'jpg', 'png'),
        help='Image format of the frames written by --extract_frame_first (default auto: png)',
    )
    qualities = '; '.join(
        f'{c.name}: {c.quality} {c.quality_range[0]:g}-{c.quality_range[1]:g}, default '
        f'{"the profile (HQ)" if c.default_quality is None else f"{c.default_quality:g}"}'
        for c in CODECS.values()
        if c.quality
    )
    parser.add_argument(
        '--codec',
        type=str,
        default='h264',
        choices=tuple(CODECS),
        help='Video codec: h264 (plays everywhere), h265 and av1 (smaller, 10-bit), vp9 (WebM), prores (editing, '
        'MOV/MKV), ffv1 (lossless archive, MKV/MP4) (default: h264)',
    )
    parser.add_argument(
        '--container',
        type=str,
        default=None,
        choices=tuple(CONTAINERS),
        help='Extension (container) of the output file when -o is a folder (default: mp4, or mov for prores); '
        '-o may also name the output file itself, e.g. -o out/film.mkv',
    )
    parser.add_argument(
        '--crf',
        type=float,
        default=None,
        help=f"Quality, lower is better, on the codec's own scale ({qualities}; ffv1 is lossless). For h264: 0 "
        'lossless, 18 visually lossless, 23 the default as x264 and the original',
    )
    parser.add_argument(
        '--preset',
        type=str,
        default='medium',
        help=f'Speed preset (x264 names, also for h265; the matching speed for av1 and vp9), '
        f'{", ".join(X264_PRESETS)}: slower gives a smaller file of the same quality (default: medium)',
    )
    parser.add_argument(
        '--pix_fmt',
        type=str,
        default='auto',
        choices=PIXEL_FORMATS,
        help="Pixel format. auto (default): yuv420p, or for 10-bit input the codec's 10-bit format (h265, av1, "
        'ffv1; h264 stays 8-bit; prores is always yuv422p10le). yuv420p plays everywhere (odd sizes are padded '
        'by one pixel); yuv444p keeps full colour and, with --crf 0, is near lossless',
    )
    parser.add_argument(
        '--no_resume',
        dest='resume',
        action='store_false',
        help='Start afresh and keep nothing when the job does not finish. By default the finished segments of '
        'a job that stopped (crash, kill, Ctrl-C) stay in a hidden folder beside the output, and the same '
        'command run again goes on from them',
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
    try:
        early_error = _check_before_the_engine(args)
    except ImportError as error:  # PyAV missing or broken: the message says what to install
        early_error = str(error)
    if early_error:
        from realesrgan.cli.options import report_error

        return report_error(early_error)

    from realesrgan.cli.options import configure_logging, report_error
    from realesrgan.video import VideoInputError, VideoJobError
    from realesrgan.video.job import VideoJob, VideoJobSetupError, run_video_job

    configure_logging()
    if args.ffmpeg_bin != 'ffmpeg':
        print('Note: --ffmpeg_bin is not needed and not used: PyAV decodes and encodes with its own FFmpeg.')
    bar = _FrameBar()
    kept = '; the finished segments are kept: run the same command again to go on' if args.resume else ''
    try:
        summary = run_video_job(
            VideoJob.from_args(args), log=print, progress=bar.update, on_start=bar.start, on_reuse=bar.reuse
        )
    except (VideoJobSetupError, VideoInputError) as error:
        return report_error(error)
    except VideoJobError as error:
        print(f'error: {error}; nothing was written{kept}', file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM (VideoJobTerminated carries its number)
        print(f'interrupted; nothing was written{kept}', file=sys.stderr)
        return 128 + getattr(interruption, 'signum', signal.SIGINT)
    finally:
        bar.close()
    print(summary.describe())
    for warning in summary.result.warnings:
        print(f'warning: {warning}')
    return 0


def _check_before_the_engine(args: argparse.Namespace) -> str:
    """What is wrong with the encoder flags, the output or the input, in one line ('' when nothing is).

    Runs before anything imports torch, so that a wrong input (an image, a text file) is answered at once.

    Raises:
        ImportError: PyAV is missing or broken (one line saying what to install).
    """
    from realesrgan.video import EncoderSettings, VideoInputError, require_pyav
    from realesrgan.video.naming import output_file

    require_pyav()
    from realesrgan.video.preflight import check_job

    try:
        encoder = EncoderSettings(crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, codec=args.codec)
        check_job(args.input, output_file(args.input, args.output, args.suffix, args.codec, args.container), encoder)
    except (ValueError, VideoInputError) as error:
        return str(error)
    return ''


class _FrameBar:
    """A tqdm bar over the frames of the job (frames/s and the time left), opened once their number is known."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            unit='frame',
            desc='upscaling',
            dynamic_ncols=True,
            bar_format='{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames [{rate_fmt}, {remaining} left]',
        )

    def reuse(self, frames: int) -> None:
        """Count the frames an interrupted run finished as done, without counting them in the rate."""
        self.bar.initial = self.bar.n = self.bar.last_print_n = frames
        self.bar.refresh()

    def update(self, frames: int) -> None:
        self.bar.update(frames)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
