"""Registers every ``*_model.py`` module of this folder in BasicSR's registry by importing it."""

from realesrgan.discovery import import_sibling_modules

__all__ = ['model_modules']

model_modules = import_sibling_modules(__name__, __file__, '_model')
