"""Nirantar (निरंतर): a hospital information system that keeps working through any outage."""

__version__ = "0.1.0"
