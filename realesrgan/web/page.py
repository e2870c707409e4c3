"""The page itself: an Images tab and a Video tab, their controls, and the events that run the jobs.

Both upscale buttons share one Gradio concurrency group of size 1 (``concurrency_id='device'``): the server runs
on one device, and two tabs never run two jobs on it at once (the second waits in the queue, and the page says so).
Cancel bypasses the queue and stops the job of its own tab (:class:`~realesrgan.web.cancel_board.CancelBoard`); a
client that cancels its request through the API stops its job the same way, and the device passes to the next job
only once the cancelled one stopped. Every control
maps to a flag of the command lines (see :class:`~realesrgan.web.image_handler.ImageChoices`); what a job cannot do
is shown in the status box, as the one line the CLI prints.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

from realesrgan.batch.plan import EXTENSIONS
from realesrgan.inference.face_enhance import FaceEnhanceUnavailable, require_gfpgan
from realesrgan.inference.model_choice import DEFAULT_MODEL_NAME, DEFAULT_VIDEO_MODEL
from realesrgan.inference.precision import PRECISIONS
from realesrgan.web.cancel_board import CancelBoard, CancelToken, Report
from realesrgan.web.image_handler import ImageChoices, ImageOutput, ImageResult, before_after, upscale_images
from realesrgan.web.video_handler import VideoChoices, upscale_video_file
from realesrgan.web.workspace import Workspace
from realesrgan.zoo import MODEL_ZOO, get_model_spec

__all__ = ['PAGE_JS', 'PageConfig', 'build_page', 'face_enhance_available', 'has_denoise_strength']

CANCELLED = 'Cancelled: the job stopped and its files were removed.'
MODEL_FILE_TYPES = ['.pth', '.safetensors']
PAGE_JS = """() => {
  // the Images box takes several files: Gradio says "Drop File Here" on every file box
  const plural = () => document.querySelectorAll('#image-input [data-testid=upload-text]').forEach((text) => {
    for (const node of text.childNodes) {
      if (node.nodeType === Node.TEXT_NODE && node.textContent.includes('Drop File Here')) {
        node.textContent = node.textContent.replace('Drop File Here', 'Drop Files Here');
      }
    }
  });
  new MutationObserver(plural).observe(document.body, {childList: true, subtree: true, characterData: true});
  plural();
}"""
"""Script the server hands to the page (``launch(js=...)``)."""
Result = TypeVar('Result')


@dataclass(frozen=True)
class PageConfig:
    """What the page needs from the server.

    Attributes:
        server: The server's engine flags (``weights_dir``, ``device``, ``precision``, ``max_pixels``, ...), named
            as the CLI's flags; every job takes them.
        workspace: The server's temporary folder.
        board: The running job of each tab.
        face_enhance: Offer face enhancement (GFPGAN is installed).
    """

    server: Mapping[str, Any]
    workspace: Workspace
    board: CancelBoard
    face_enhance: bool


def face_enhance_available() -> bool:
    """Whether GFPGAN is installed, so that the page offers face enhancement."""
    try:
        require_gfpgan()
    except FaceEnhanceUnavailable:
        return False
    return True


def has_denoise_strength(model_name: Optional[str]) -> bool:
    """Whether the model blends with a denoise partner (DNI), so that the denoise strength applies."""
    return model_name in MODEL_ZOO and bool(get_model_spec(model_name).dni_partner)


def _optional_number(value: Optional[float]) -> Optional[float]:
    """An empty number field (None, or 0 from Gradio) means the default."""
    return float(value) if value else None


def _optional_int(value: Optional[float]) -> Optional[int]:
    return int(value) if value else None


def _comparison(outputs: List[ImageOutput], name: Optional[str], workspace: Workspace) -> Optional[Tuple[str, str]]:
    """The before / after pair of the output described as ``name`` (the first output when none is)."""
    chosen = [one for one in outputs if one.describe() == name] or outputs[:1]
    return before_after(chosen[0], workspace.new_job_folder('compare')) if chosen else None


def _engine_choices(
    model_name: str,
    model_file: Optional[str],
    outscale: Optional[float],
    denoise_strength: float,
    tile: Optional[float],
    face_enhance: bool,
    precision: str,
) -> Dict[str, Any]:
    """The :class:`~realesrgan.web.choices.EngineChoices` fields from the values of :class:`_EngineControls`."""
    return {
        'model_name': model_name,
        'model_file': model_file,
        'outscale': _optional_number(outscale),
        'denoise_strength': float(denoise_strength),
        'tile': _optional_int(tile) or 0,
        'face_enhance': bool(face_enhance),
        'precision': precision,
    }


class _EngineControls:
    """The controls both tabs have (model, own weights, outscale, tile, denoise strength, face enhance, precision),
    within a ``gradio.Blocks``: the model is laid out where this is made, the others where :meth:`lay_out_settings`
    is called (below the tab's buttons, which stay in sight on a laptop's screen).

    Args:
        gr: The gradio module.
        kind: ``'image'`` or ``'video'``, the prefix of the element ids.
        default_model: The model chosen at first.
        config: The page's configuration.
    """

    def __init__(self, gr: Any, kind: str, default_model: str, config: PageConfig) -> None:
        self.gr, self.kind, self.default_model, self.config = gr, kind, default_model, config
        self.model = gr.Dropdown(list(MODEL_ZOO), value=default_model, label='Model', elem_id=f'{kind}-model')

    def lay_out_settings(self) -> None:
        """The controls other than the model, laid out here."""
        gr, kind, default_model, config = self.gr, self.kind, self.default_model, self.config
        self.model_file = gr.File(
            label='Or your own weights (.pth: architecture detected)',
            file_types=MODEL_FILE_TYPES,
            elem_id=f'{kind}-model-file',
        )
        whole = 'frame' if kind == 'video' else kind
        with gr.Row():
            self.outscale = gr.Number(label="Outscale (0: the model's own)", value=None, elem_id=f'{kind}-outscale')
            self.tile = gr.Number(
                label=f'Tile (0: whole {whole})', value=0, precision=0, minimum=0, elem_id=f'{kind}-tile'
            )
        self.denoise = gr.Slider(
            0,
            1,
            value=0.5,
            step=0.05,
            label='Denoise strength (0 keeps noise, 1 removes it)',
            visible=has_denoise_strength(default_model),
            elem_id=f'{kind}-denoise',
        )
        self.face = gr.Checkbox(
            label='Face enhance (GFPGAN)', value=False, visible=config.face_enhance, elem_id=f'{kind}-face'
        )
        self.precision = gr.Dropdown(list(PRECISIONS), value=config.server.get('precision', 'auto'), label='Precision')
        self.model.change(
            lambda name: gr.update(visible=has_denoise_strength(name)),
            self.model,
            self.denoise,
            queue=False,
            api_visibility='private',
        )

    @property
    def inputs(self) -> List[Any]:
        """The controls, in the order of :func:`_engine_choices`'s parameters (and of the API's)."""
        return [self.model, self.model_file, self.outscale, self.denoise, self.tile, self.face, self.precision]


def build_page(config: PageConfig) -> Any:
    """The page, a ``gradio.Blocks`` (queue it, then launch it with :data:`PAGE_JS`; see
    :func:`realesrgan.web.server.serve`)."""
    import gradio as gr

    server = dict(config.server)

    async def cancellable(
        request: Any, progress: Any, work: Callable[[CancelToken, Report], Result]
    ) -> Optional[Result]:
        """Run ``work`` in a thread as the job of the request's tab; None when it was cancelled."""

        def report(fraction: float, text: str) -> None:
            progress(fraction, desc=text)

        return await config.board.run(request.session_hash, lambda token: work(token, report))

    def cancel(request: gr.Request) -> str:
        """Stop the running job of this tab."""
        if config.board.cancel(request.session_hash):
            return 'Cancelling: the job stops after the current tile or frame...'
        return 'No job of this page is running.'

    with gr.Blocks(title='Real-ESRGAN') as page:
        gr.Markdown(
            '# Real-ESRGAN\nUpscale images and videos on this machine, with the models and settings of the '
            '`inference_realesrgan.py` and `inference_realesrgan_video.py` command lines (same pixels).'
        )
        with gr.Tab('Images'):
            with gr.Row():
                with gr.Column(scale=1):
                    image_files = gr.File(label='Images', file_count='multiple', elem_id='image-input')
                    image_engine = _EngineControls(gr, 'image', DEFAULT_MODEL_NAME, config)
                    with gr.Row():
                        image_run = gr.Button('Upscale', variant='primary', elem_id='image-run')
                        image_cancel = gr.Button('Cancel', variant='stop', elem_id='image-cancel')
                    image_engine.lay_out_settings()
                    with gr.Row():
                        image_ext = gr.Dropdown(list(EXTENSIONS), value='auto', label='Output format')
                        image_quality = gr.Number(
                            label='Quality 1-100 (JPEG / WebP; 0: default)', value=None, precision=0
                        )
                    image_metadata = gr.Checkbox(label='Keep metadata (EXIF, ICC profile, DPI)', value=True)
                with gr.Column(scale=2):
                    image_status = gr.Textbox(label='Status', lines=4, interactive=False, elem_id='image-status')
                    image_slider = gr.ImageSlider(
                        label='Before / after', type='filepath', interactive=False, elem_id='image-compare'
                    )
                    image_pick = gr.Dropdown([], label='Compare', elem_id='image-pick')
                    image_results = gr.File(
                        label='Results', file_count='multiple', interactive=False, elem_id='image-results'
                    )
                    image_zip = gr.File(label='All results (zip)', interactive=False, elem_id='image-zip')
            image_outputs = gr.State([])
        with gr.Tab('Video'):
            with gr.Row():
                with gr.Column(scale=1):
                    video_file = gr.File(label='Video', file_types=['video'], elem_id='video-input')
                    video_engine = _EngineControls(gr, 'video', DEFAULT_VIDEO_MODEL, config)
                    with gr.Row():
                        video_run = gr.Button('Upscale video', variant='primary', elem_id='video-run')
                        video_cancel = gr.Button('Cancel', variant='stop', elem_id='video-cancel')
                    video_engine.lay_out_settings()
                    video_crf = gr.Slider(0, 51, value=23, step=1, label='Quality (x264 crf: 0 lossless, 51 worst)')
                with gr.Column(scale=2):
                    video_status = gr.Textbox(label='Status', lines=4, interactive=False, elem_id='video-status')
                    video_preview = gr.Video(label='Result', interactive=False, elem_id='video-preview')
                    video_result = gr.File(label='Download (mp4)', interactive=False, elem_id='video-result')

        async def upscale_images_event(
            files: Optional[List[str]],
            model_name: str,
            model_file: Optional[str],
            outscale: Optional[float],
            denoise_strength: float,
            tile: Optional[float],
            face_enhance: bool,
            precision: str,
            ext: str,
            quality: Optional[float],
            keep_metadata: bool,
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way of asking for a progress bar)
        ) -> Tuple[Any, ...]:
            """Upscale the uploaded images; returns the status, the comparison, its choices, the files and the zip."""
            engine = _engine_choices(model_name, model_file, outscale, denoise_strength, tile, face_enhance, precision)
            choices = ImageChoices(**engine, ext=ext, quality=_optional_int(quality), keep_metadata=bool(keep_metadata))

            def work(token: CancelToken, report: Report) -> Tuple[ImageResult, Optional[Tuple[str, str]]]:
                result = upscale_images(files or [], choices, server, config.workspace, token, report)
                return result, _comparison(result.outputs, None, config.workspace)

            result, comparison = await cancellable(request, progress, work) or (ImageResult(CANCELLED), None)
            labels = [one.describe() for one in result.outputs]
            return (
                '\n'.join([result.message, *labels]),
                comparison,
                gr.update(choices=labels, value=labels[0] if labels else None),
                [one.path for one in result.outputs] or None,
                result.zip_path,
                result.outputs,
            )

        async def upscale_video_event(
            upload: Optional[str],
            model_name: str,
            model_file: Optional[str],
            outscale: Optional[float],
            denoise_strength: float,
            tile: Optional[float],
            face_enhance: bool,
            precision: str,
            crf: float,
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way of asking for a progress bar)
        ) -> Tuple[str, Optional[str], Optional[str]]:
            """Upscale the uploaded video; returns the status, the preview and the file to download."""
            engine = _engine_choices(model_name, model_file, outscale, denoise_strength, tile, face_enhance, precision)
            choices = VideoChoices(**engine, crf=float(crf))
            result = await cancellable(
                request,
                progress,
                lambda token, report: upscale_video_file(upload, choices, server, config.workspace, token, report),
            )
            return (CANCELLED, None, None) if result is None else (result.message, result.path, result.path)

        image_run.click(
            upscale_images_event,
            [image_files, *image_engine.inputs, image_ext, image_quality, image_metadata],
            [image_status, image_slider, image_pick, image_results, image_zip, image_outputs],
            api_name='upscale_images',
            concurrency_limit=1,
            concurrency_id='device',
        )
        image_pick.input(
            lambda name, outputs: _comparison(outputs or [], name, config.workspace),
            [image_pick, image_outputs],
            image_slider,
            api_visibility='private',
        )
        video_run.click(
            upscale_video_event,
            [video_file, *video_engine.inputs, video_crf],
            [video_status, video_preview, video_result],
            api_name='upscale_video',
            concurrency_limit=1,
            concurrency_id='device',
        )
        for button, status in ((image_cancel, image_status), (video_cancel, video_status)):
            button.click(cancel, None, status, queue=False, api_visibility='private')
    return page
