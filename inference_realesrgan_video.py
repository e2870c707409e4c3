"""Upscale a video (or a folder of frames) with Real-ESRGAN, keeping its sound.

    python inference_realesrgan_video.py -i inputs/video.mp4 -n realesr-animevideov3 -s 2

Writes ``<output>/<name>_<suffix>.mp4`` (H.264, the input's audio copied). Decoding and encoding use PyAV,
whose wheel ships FFmpeg: no ffmpeg program is needed. The frames are cut into segments that several worker
processes upscale at once (``--num_process_per_gpu`` per GPU, or that many on the CPU).
"""
import argparse
import logging
import os
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
    """The command line: the original script's flags and defaults, plus encoder and device options."""
    from realesrgan.video import DEFAULT_CRF, PIXEL_FORMATS
    from realesrgan.zoo import MODEL_ZOO
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('-i', '--input', type=str, default='inputs', help='Input video file, or folder of frames')
    parser.add_argument('-n', '--model_name', type=str, default='realesr-animevideov3',
                        help=f'Model name: {", ".join(MODEL_ZOO)}')
    parser.add_argument('-o', '--output', type=str, default='results', help='Output folder')
    parser.add_argument('-dn', '--denoise_strength', type=float, default=0.5,
                        help='Denoise strength for realesr-general-x4v3: 0 weak denoise (keeps noise), 1 strong')
    parser.add_argument('-s', '--outscale', type=float, default=None,
                        help='Final upsampling scale (default 4, or 2/3 for the -x2/-x3 models)')
    parser.add_argument('--suffix', type=str, default='out', help='Suffix of the output video name')
    parser.add_argument('-t', '--tile', type=int, default=0, help='Tile size, 0 for no tile during testing')
    parser.add_argument('--tile_pad', type=int, default=10, help='Tile padding')
    parser.add_argument('--pre_pad', type=int, default=0, help='Pre padding size at each border')
    parser.add_argument('--face_enhance', action='store_true', help='Use GFPGAN to enhance faces (not supported '
                        'for video yet: the job stops with a message)')
    parser.add_argument('--fp32', action='store_true',
                        help='Use fp32 precision on a GPU (fp16 is the GPU default; the CPU always uses fp32)')
    parser.add_argument('--fps', type=parse_fps, default=None,
                        help='Output frame rate (frames are repeated or dropped, the duration and the audio sync '
                        'are kept); for a folder of frames, their rate (default 24)')
    parser.add_argument('--ffmpeg_bin', type=str, default='ffmpeg',
                        help='Kept for compatibility with the original script and not used: PyAV ships FFmpeg')
    parser.add_argument('--extract_frame_first', action='store_true',
                        help='Decode all frames to image files in a temporary folder first, then upscale them')
    parser.add_argument('--num_process_per_gpu', type=int, default=1,
                        help='Worker processes per GPU (on a machine without GPU: worker processes on the CPU)')
    parser.add_argument('--alpha_upsampler', type=str, default='realesrgan',
                        help='The upsampler for the alpha channels. Options: realesrgan | bicubic')
    parser.add_argument('--ext', type=str, default='auto', choices=('auto', 'jpg', 'png'),
                        help='Image format of the frames written by --extract_frame_first (auto: png)')
    parser.add_argument('--crf', type=float, default=DEFAULT_CRF,
                        help='x264 quality: 0 lossless, 18 visually lossless, 23 x264 default, 51 worst')
    parser.add_argument('--preset', type=str, default='medium',
                        help='x264 speed preset: ultrafast ... veryslow (slower: smaller file, same quality)')
    parser.add_argument('--pix_fmt', type=str, default='yuv420p', choices=PIXEL_FORMATS,
                        help='yuv420p plays everywhere (odd sizes padded by one pixel); yuv444p keeps full colour '
                        '(with --crf 0: near lossless)')
    parser.add_argument('--device', type=str, default='auto',
                        help='auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps')
    parser.add_argument('--model_path', type=str, default=None,
                        help='Your own weights (file or URL) instead of the official ones of --model_name')
    parser.add_argument('--model_dir', type=str, default='weights', help='Folder of downloaded/converted weights')
    return parser


def video_name(input_path: str) -> str:
    """Base name of the output: the file name without extension, or the folder name."""
    path = os.path.normpath(os.path.abspath(input_path))
    return os.path.basename(path) if os.path.isdir(path) else os.path.splitext(os.path.basename(path))[0]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (0 on success, 1 on a reported error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s: %(message)s')

    from realesrgan.video import EncoderSettings, VideoInputError, VideoJobError, upscale_video
    from realesrgan.video.upscaler import make_recipe
    from realesrgan.zoo import WeightsNotFoundError

    if args.ffmpeg_bin != 'ffmpeg':
        print('Note: --ffmpeg_bin is not needed and not used; PyAV decodes and encodes with its own FFmpeg.')
    if args.face_enhance:
        print('Error: --face_enhance is not available for video; run without it.', file=sys.stderr)
        return 1
    try:
        devices = _worker_devices(args.device, args.num_process_per_gpu)
        recipe = make_recipe(args.model_name, args.outscale, args.denoise_strength, args.tile, args.tile_pad,
                             args.pre_pad, half=not args.fp32 and devices[0].startswith('cuda'),
                             alpha_upsampler=args.alpha_upsampler, weights_dir=args.model_dir,
                             model_path=args.model_path)
        encoder = EncoderSettings(crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt)
        output_path = os.path.join(args.output, f'{video_name(args.input)}_{args.suffix}.mp4')
        bar = _FrameBar()
        try:
            result = upscale_video(args.input, output_path, recipe, devices=devices, fps=args.fps, encoder=encoder,
                                   extract_frame_first=args.extract_frame_first,
                                   frame_ext='png' if args.ext == 'auto' else args.ext, progress=bar.update,
                                   on_start=bar.start)
        finally:
            bar.close()
    except (VideoInputError, VideoJobError, WeightsNotFoundError, ValueError) as exc:
        print(f'Error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('Interrupted; nothing was written.', file=sys.stderr)
        return 130
    audio = f', {result.audio_streams} audio stream(s) copied' if result.audio_streams else ''
    print(f'Saved {result.output_path}: {result.num_frames} frames at {float(result.frame_rate):.3f} fps{audio} '
          f'({result.num_workers} worker(s) on {", ".join(sorted(set(devices[:result.num_workers])))}).')
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


def _worker_devices(requested: str, num_process_per_gpu: int) -> List[str]:
    """One device per worker: ``auto``/``cuda`` spread over every CUDA GPU, an explicit device is used alone."""
    import torch

    from realesrgan.device import select_device
    from realesrgan.video import worker_devices
    device = select_device(requested)
    if device.type == 'cuda' and requested in ('auto', 'cuda'):
        return worker_devices('cuda', num_process_per_gpu, torch.cuda.device_count())
    return worker_devices(str(device), num_process_per_gpu)


if __name__ == '__main__':
    sys.exit(main())
