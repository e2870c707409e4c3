"""Registers every ``*_dataset.py`` module of this folder in BasicSR's registry by importing it."""

from realesrgan.discovery import import_sibling_modules

__all__ = ['dataset_modules']

dataset_modules = import_sibling_modules(__name__, __file__, '_dataset')
