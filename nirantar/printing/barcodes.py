"""Barcodes and QR codes as inline SVG, so a page needs nothing from the network."""

from __future__ import annotations

import re

import barcode
import segno
from barcode.writer import SVGWriter


def code128_svg(text: str, *, module_width_mm: float = 0.25, height_mm: float = 9.0) -> str:
    symbol = barcode.get("code128", text, writer=SVGWriter())
    svg = symbol.render(
        {
            "write_text": False,
            "module_width": module_width_mm,
            "module_height": height_mm,
            "quiet_zone": 1.5,
        }
    ).decode("utf-8")
    # Drop the XML prologue and DOCTYPE: the SVG is embedded in HTML.
    return svg[svg.index("<svg") :]


def qr_svg(text: str, *, scale: int = 2) -> str:
    # A fixed mask pattern: choosing the "best" of eight costs ~15 ms per slip and
    # buys nothing a phone or counter scanner notices at this size.
    svg = segno.make(text, error="m", mask=0, micro=False).svg_inline(scale=scale, border=1)
    return re.sub(r'class="segno"', 'class="qr"', svg)
