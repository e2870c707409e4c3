"""Files on disk that inference, training and the scripts share: atomic output, image files, output formats and
metadata."""
