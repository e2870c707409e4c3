"""Registers every ``*_arch.py`` module of this folder in BasicSR's registry by importing it."""

from realesrgan.discovery import import_sibling_modules

__all__ = ['arch_modules']

arch_modules = import_sibling_modules(__name__, __file__, '_arch')
