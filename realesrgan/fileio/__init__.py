"""Files on disk that inference, training and the scripts share: atomic output and image files."""
