"""Video reading, encoding, jobs and the video command line.

Every job starts worker processes (marked ``subprocess``); the command-line tests with the ``weights_dir`` fixture
convert the official realesr-animevideov3 weights (marked ``weights``).
"""
