"""Starting the server: the temporary folder, Gradio's cache inside it, the page, its queue, and the launch.

Gradio is imported here, after its cache folder is set (it reads ``GRADIO_TEMP_DIR`` when it is imported), and only
when the server starts. The server blocks until it is stopped (Ctrl-C; the command line turns SIGTERM into the
same), then the temporary folder is removed.
"""

import argparse
import os
from typing import Any, Callable, Dict

__all__ = ['ENGINE_FLAGS', 'engine_flags', 'serve']

# the engine flags the server takes for all its jobs (named as UpscaleSettings fields and job options)
ENGINE_FLAGS = ('device', 'precision', 'tile_blend', 'tile_batch', 'max_pixels', 'weights_dir', 'ray')


def engine_flags(args: argparse.Namespace) -> Dict[str, Any]:
    """The engine flags of the server, as every job of the page gets them."""
    return {name: getattr(args, name) for name in ENGINE_FLAGS}


def serve(args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """Start the server and block until it is stopped; the temporary folder is removed in any case.

    Args:
        args: The parsed flags (:func:`realesrgan.web.web_cli.build_parser`).
        say: Receives the line that names the temporary folder.

    Raises:
        ImportError: Gradio is missing.
        ValueError: ``--ray``: Ray is missing, or its cluster cannot be reached.
    """
    from realesrgan.web.workspace import Workspace

    if args.ray is not None:  # connected once, for every job of the page
        from realesrgan.execution.ray_executor import connect_ray

        connect_ray(args.ray)
        say(f'Jobs run on Ray ({args.ray}); uploads and outputs must be on a filesystem that its nodes see.')

    workspace = Workspace(args.temp_dir)
    try:
        # Gradio reads its cache folder from the environment when it is imported and when components are made
        os.environ['GRADIO_TEMP_DIR'] = workspace.gradio_cache
        os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
        import gradio  # noqa: F401 (ImportError reaches the command line, which says what to install)

        from realesrgan.web.jobs import JobBoard
        from realesrgan.web.page import PageConfig, build_page, face_enhance_available

        page = build_page(PageConfig(engine_flags(args), workspace, JobBoard(), face_enhance_available()))
        page.queue(default_concurrency_limit=1)
        say(f'Uploads and results live in {workspace.root} (removed when the server stops).')
        page.launch(
            server_name=args.listen,
            server_port=args.port,
            share=args.share,
            max_file_size=args.max_file_size,
            footer_links=[],
            run_history=False,
            enable_monitoring=False,
            mcp_server=False,
            ssr_mode=False,
        )
    finally:
        workspace.remove()
