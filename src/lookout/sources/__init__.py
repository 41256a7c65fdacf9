"""Sensor sources: one module per wire format, each ``parse -> validate -> Observation``.

Importing this package registers every format module (see :mod:`lookout.sources.base`).
"""

from lookout.sources.base import DecodeStats, Decoder, decoder_class, formats, register

# ADS-B / Mode S formats
from lookout.sources import aircraft_json, avr, beast, raw, sbs  # noqa: E402,F401

# Remote ID, radar, SAPIENT, AIS, camera and report formats
from lookout.sources import ais, asterix, camera, radar_json, remoteid, report, sapient  # noqa: E402,F401

__all__ = ["DecodeStats", "Decoder", "decoder_class", "formats", "register"]
