"""Whether an image file on disk is whole: an output a killed or crashed writer left empty or cut short is not.

The batch job writes its outputs atomically, but an output folder may hold files from elsewhere: a run of an older
version killed mid-write, a copy interrupted, a full disk. ``--skip_existing`` must not count such a file as done.
:func:`image_file_problem` decodes the file completely (Pillow raises on data that ends early) and, for PNG, also
looks for the closing ``IEND`` chunk, which Pillow does not need to decode the pixels.
"""

import os
from typing import Optional

__all__ = ['image_file_problem']

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'


def image_file_problem(path: str) -> Optional[str]:
    """Why the image file ``path`` is not a whole image, or None when it decodes completely.

    Args:
        path: An existing file.

    Returns:
        ``'empty'``, ``'cut short'`` or ``'not readable as an image (...)'``, or None for a whole image. Formats
        Pillow cannot open are given the benefit of the doubt (None) unless they are empty.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        size = os.path.getsize(path)
        if size == 0:
            return 'empty'
        with open(path, 'rb') as file:
            head = file.read(len(_PNG_SIGNATURE))
            if head == _PNG_SIGNATURE:
                file.seek(max(0, size - len(_PNG_END)))
                if file.read() != _PNG_END:
                    return 'cut short'
        with Image.open(path) as image:
            image.load()
    except UnidentifiedImageError:
        return None
    except (OSError, SyntaxError, ValueError) as error:
        return 'cut short' if 'truncated' in str(error) else f'not readable as an image ({error})'
    return None
