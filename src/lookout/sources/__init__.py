"""Sensor sources: one module per wire format, each ``parse -> validate -> Observation``.

Format modules are imported on first use through :func:`decoder_class` (see
:data:`lookout.sources.base.FORMAT_MODULES`), so importing this package stays cheap.
"""

from lookout.sources.base import FORMAT_MODULES, Decoder, DecodeStats, decoder_class, formats, register

__all__ = ["FORMAT_MODULES", "DecodeStats", "Decoder", "decoder_class", "formats", "register"]
