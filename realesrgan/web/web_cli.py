"""The web page's command line: ``python app.py`` in a checkout, ``realesrgan-web`` when installed.

It serves on 127.0.0.1 only (``--listen`` binds other addresses, ``--share`` asks Gradio for a public link), on a
free port from 7860 up or ``--port``. The engine flags are the command lines' own (``--weights_dir``, ``--device``,
``--precision``, ``--max_pixels``, ...) and apply to every job of the page. Gradio is imported only when the server
starts (:mod:`realesrgan.web.server`), so ``import realesrgan`` and the other commands never load it; without it, one
line says what to install. With ``--ray [ADDRESS]`` the page's jobs run on Ray (an embedded local instance, or a
cluster), so that a shared server does not upscale on its own CPU. Exit status: 0 after a clean stop (Ctrl-C or
SIGTERM), 2 when the server cannot start.
"""

import argparse
import re
import signal
import socket
import sys
from typing import List, Optional

from realesrgan.cli.options import add_engine_options, add_ray_option, configure_logging
from realesrgan.inference.settings import SettingError, UpscaleSettings

__all__ = ['DEFAULT_HOST', 'MISSING_GRADIO', 'build_parser', 'main']

DEFAULT_HOST = '127.0.0.1'
MISSING_GRADIO = (
    'the web page needs Gradio, which cannot be imported ({}): pip install -e ".[web]" (or pip install gradio)'
)
# what --listen alone binds: every IPv4 address of the machine
EVERY_ADDRESS = '0.0.0.0'


def build_parser() -> argparse.ArgumentParser:
    """The server's flags: where it listens, its limits, and the engine flags of the command lines."""
    parser = argparse.ArgumentParser(description='Serve a local web page that upscales images and videos.')
    parser.add_argument(
        '--port', type=int, default=None, help='Port to serve on (default: the first free one from 7860)'
    )
    parser.add_argument(
        '--listen',
        nargs='?',
        const=EVERY_ADDRESS,
        default=DEFAULT_HOST,
        metavar='ADDRESS',
        help=f'Address to bind (default: {DEFAULT_HOST}, this machine only; --listen alone: {EVERY_ADDRESS}, '
        'every address, so that other machines of the network can use the page)',
    )
    parser.add_argument(
        '--share', action='store_true', help="Also make a public link through Gradio's share servers (off by default)"
    )
    parser.add_argument(
        '--max_file_size',
        type=str,
        default='1gb',
        help='Largest upload, e.g. 500mb or 2gb (default: 1gb)',
    )
    parser.add_argument(
        '--temp_dir',
        type=str,
        default=None,
        help='Where the server makes its temporary folder for uploads and results, removed on exit '
        "(default: the system's temporary folder)",
    )
    add_ray_option(parser)
    add_engine_options(parser)
    return parser


_FILE_SIZE = re.compile(r'^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb)?\s*$', re.IGNORECASE)


def check_flags(args: argparse.Namespace) -> None:
    """Check the server's flags before it starts, so that a bad one is one line now, not a failure of every job.

    Args:
        args: The parsed flags.

    Raises:
        ValueError: A flag the server cannot work with; the message names it and says what it takes.
    """
    from realesrgan.web.server import engine_flags

    try:
        UpscaleSettings.from_args(engine_flags(args))
    except SettingError as error:
        raise ValueError(error.as_flag()) from None
    if not _FILE_SIZE.match(args.max_file_size):
        raise ValueError(f'--max_file_size must be a size such as 500mb or 2gb, got {args.max_file_size!r}')
    try:
        family = socket.AF_INET6 if ':' in args.listen else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((args.listen, 0))
    except OSError as error:
        raise ValueError(
            f'--listen {args.listen} is not an address of this machine ({error.strerror or error}); leave it out '
            f'for {DEFAULT_HOST}, or give --listen alone for every address'
        ) from None


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server as Ctrl-C does (Gradio closes on KeyboardInterrupt), so the folder is removed."""

    def stop(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_IGN)
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, stop)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    from realesrgan.web.server import serve

    try:
        check_flags(args)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2

    configure_logging()
    _stop_on_sigterm()
    try:
        serve(args, say=print)
    except KeyboardInterrupt:
        pass
    except ImportError as error:
        print(f'error: {MISSING_GRADIO.format(error)}', file=sys.stderr)
        return 2
    except OSError as error:  # e.g. the port is taken
        print(f'error: cannot serve on {args.listen}:{args.port}: {error}', file=sys.stderr)
        return 2
    except ValueError as error:  # --ray: Ray missing, or its cluster out of reach
        print(f'error: {error}', file=sys.stderr)
        return 2
    return 0
