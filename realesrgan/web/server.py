"""Starting the server: the temporary folder, Gradio's cache inside it, the page, its queue, and the launch.

Gradio is imported here, after its cache folder is set (it reads ``GRADIO_TEMP_DIR`` when it is imported), and only
when the server starts. The server blocks until it is stopped (Ctrl-C; the command line turns SIGTERM into the
same); it then cancels its running jobs and waits for them to stop (the image job after its current tile, the video
job with its worker processes), closes the page, and removes the temporary folder. It prints its own lines, not
Gradio's (whose hints name ``launch()`` arguments rather than the command line's flags).
"""

import argparse
import logging
import os
import time
from typing import Any, Callable, Dict

__all__ = ['ENGINE_FLAGS', 'STOP_SECONDS', 'engine_flags', 'serve']

logger = logging.getLogger(__name__)

# the engine flags the server takes for all its jobs (named as UpscaleSettings fields and job options)
ENGINE_FLAGS = ('device', 'precision', 'tile_blend', 'tile_batch', 'max_pixels', 'weights_dir', 'ray')
STOP_SECONDS = 120
"""How long a stopping server waits for its cancelled jobs (each stops after its current tile or frame)."""


def engine_flags(args: argparse.Namespace) -> Dict[str, Any]:
    """The engine flags of the server, as every job of the page gets them."""
    return {name: getattr(args, name) for name in ENGINE_FLAGS}


def serve(args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """Start the server and block until it is stopped; the temporary folder is removed in any case.

    Args:
        args: The parsed flags (:func:`realesrgan.web.web_cli.build_parser`).
        say: Receives the lines for the user: the temporary folder, the address, the public link.

    Raises:
        ImportError: Gradio is missing.
        ValueError: ``--ray``: Ray is missing, or its cluster cannot be reached.
    """
    from realesrgan.web.cancel_board import CancelBoard
    from realesrgan.web.workspace import Workspace

    if args.ray is not None:  # connected once, for every job of the page
        from realesrgan.execution.ray_executor import connect_ray

        connect_ray(args.ray)
        say(f'Jobs run on Ray ({args.ray}); uploads and outputs must be on a filesystem that its nodes see.')

    workspace = Workspace(args.temp_dir)
    board = CancelBoard()
    page = None
    try:
        # Gradio reads its cache folder from the environment when it is imported and when components are made
        os.environ['GRADIO_TEMP_DIR'] = workspace.gradio_cache
        os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
        import gradio  # noqa: F401 (ImportError reaches the command line, which says what to install)

        from realesrgan.web.page import PAGE_JS, PageConfig, build_page, face_enhance_available

        page = build_page(PageConfig(engine_flags(args), workspace, board, face_enhance_available()))
        page.queue(default_concurrency_limit=1)
        say(f'Uploads and results live in {workspace.root} (removed when the server stops).')
        _, local_url, share_url = page.launch(
            server_name=args.listen,
            server_port=args.port,
            share=args.share,
            max_file_size=args.max_file_size,
            footer_links=[],
            run_history=False,
            enable_monitoring=False,
            mcp_server=False,
            ssr_mode=False,
            js=PAGE_JS,
            prevent_thread_lock=True,
            quiet=True,
        )
        say(f'Serving on {local_url} (Ctrl-C stops the server).')
        if args.share:
            say(f'Public link: {share_url}' if share_url else 'No public link: Gradio could not reach its servers.')
        while page.is_running:
            time.sleep(0.2)
    finally:
        _stop(board, page)
        workspace.remove()


def _stop(board: Any, page: Any) -> None:
    """Cancel the running jobs and wait for them to stop, then close the page and its share link, if any."""
    if board.close() and not board.wait_idle(STOP_SECONDS):
        logger.warning('a job did not stop within %d s; stopping the server anyway', STOP_SECONDS)
    if page is not None:
        from gradio.tunneling import CURRENT_TUNNELS

        page.close(verbose=False)
        for tunnel in CURRENT_TUNNELS:
            tunnel.kill()
