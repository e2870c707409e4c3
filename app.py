"""Serve the local upscaling web page: ``python app.py`` (needs ``pip install -e ".[web]"``).

``python app.py --help`` lists the flags; the command line lives in :mod:`realesrgan.web.web_cli`.
"""

import sys

from realesrgan.web import main

if __name__ == '__main__':
    sys.exit(main())
