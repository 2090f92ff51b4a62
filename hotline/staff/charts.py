"""What the dashboard's SVG charts draw, shared by every domain's report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar of a chart."""

    label: str
    value: int
