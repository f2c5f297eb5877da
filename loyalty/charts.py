"""The program page's chart: points issued and redeemed per month as paired vertical bars, drawn on
the server as SVG (no JavaScript, no CDN; the page shows the same figures in a table beside it).
Labels and values are escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def paired_bars(rows: list[tuple[str, float, float]], *, title: str, legend: tuple[str, str], width: int = 640,
                height: int = 220, colors: tuple[str, str] = ("#2563eb", "#16a34a")) -> SafeString:
    """``rows``: (label, first value, second value); one pair of bars per row."""
    if not rows:
        return mark_safe("")
    pad, base = 30, height - 30
    top = max(max(a, b) for _, a, b in rows) or 1.0
    slot = (width - 2 * pad) / len(rows)
    bar = max(2.0, slot * 0.35)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{pad}" y1="{base}" x2="{width - pad}" y2="{base}" stroke="#cbd5e1"/>']
    for i, (label, first, second) in enumerate(rows):
        x = pad + i * slot + slot * 0.1
        for j, value in enumerate((first, second)):
            h = (base - pad) * float(value) / top
            parts.append(f'<rect x="{x + j * bar:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colors[j]}"><title>{escape(label)}: {float(value):,.0f}</title></rect>')
        parts.append(f'<text x="{x + bar:.1f}" y="{height - 12}" font-size="10" text-anchor="middle">'
                     f'{escape(label)}</text>')
    for j, name in enumerate(legend):
        parts.append(f'<rect x="{pad + j * 140}" y="6" width="10" height="10" fill="{colors[j]}"/>'
                     f'<text x="{pad + j * 140 + 14}" y="15" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
