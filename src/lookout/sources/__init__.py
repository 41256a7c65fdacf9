"""Sensor sources: one module per wire format, each ``parse -> validate -> Observation``.

Importing this package registers every format module (see :mod:`lookout.sources.base`).
"""

from lookout.sources.base import DecodeStats, Decoder, decoder_class, formats, register

__all__ = ["DecodeStats", "Decoder", "decoder_class", "formats", "register"]
