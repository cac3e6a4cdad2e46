"""Numbers as the sheets show them: a rate rounded half away from zero, as Excel and LibreOffice round
for the format 0.0% (Python's format rounds half to even: 20/64 would read 31.2 % beside the sheet's 31.3 %)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def percent(x: float, digits: int = 1) -> str:
    """0.3125 -> '31.3%' (digits after the point), from the shortest decimal form of x."""
    value = (Decimal(repr(float(x))) * 100).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{value}%"
