"""Lookout: one live, shared picture of a border sector's air and ground."""

__version__ = "0.1.0"
