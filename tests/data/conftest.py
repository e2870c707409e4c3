"""The two datasets: RealESRGANDataset (GT and blur kernels) and RealESRGANPairedDataset (given LQ/GT pairs)."""
