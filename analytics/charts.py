"""Small server-side SVG charts: no JavaScript, no CDN, readable by screen readers (each chart
has a title and a text table beside it in the template). Values and labels are escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext


def _fmt(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _no_data(title: str) -> str:
    return gettext("%(title)s: no data yet.") % {"title": title}


def line_chart(points: list[tuple[str, float]], *, title: str, width: int = 640, height: int = 200,
               color: str = "#2563eb") -> SafeString:
    """A polyline over ``points`` (label, value) with the first/last labels and the max value."""
    if not points:
        return mark_safe(f'<p class="muted">{escape(_no_data(title))}</p>')
    pad = 32
    values = [float(v) for _, v in points]
    top = max(values) or 1.0
    step = (width - 2 * pad) / max(len(points) - 1, 1)
    maximum = gettext("max")
    coords = " ".join(f"{pad + i * step:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"
                      for i, v in enumerate(values))
    return mark_safe(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#cbd5e1"/>'
        f'<polyline fill="none" stroke="{escape(color)}" stroke-width="2" points="{coords}"/>'
        f'<text x="{pad}" y="{height - 10}" font-size="11">{escape(points[0][0])}</text>'
        f'<text x="{width - pad}" y="{height - 10}" font-size="11" text-anchor="end">{escape(points[-1][0])}</text>'
        f'<text x="{pad}" y="{pad - 10}" font-size="11">{escape(maximum)} {escape(_fmt(top))}</text></svg>'
    )


def bar_chart(bars: list[dict], *, title: str, width: int = 640, bar_height: int = 22) -> SafeString:
    """Horizontal bars: each ``{"label", "value", "color"?, "href"?, "note"?}``; a bar with an
    href links to the records behind it (drill down)."""
    if not bars:
        return mark_safe(f'<p class="muted">{escape(_no_data(title))}</p>')
    label_w, pad = 170, 6
    top = max(float(b["value"]) for b in bars) or 1.0
    height = len(bars) * (bar_height + pad) + pad
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, bar in enumerate(bars):
        y = pad + i * (bar_height + pad)
        w = max(1.0, (width - label_w - 90) * float(bar["value"]) / top)
        text = f'{_fmt(float(bar["value"]))}{(" · " + str(bar["note"])) if bar.get("note") else ""}'
        inner = (f'<text x="{label_w - 8}" y="{y + bar_height * 0.7:.1f}" font-size="12" text-anchor="end">'
                 f'{escape(bar["label"])}</text>'
                 f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" rx="3" '
                 f'fill="{escape(bar.get("color") or "#2563eb")}"/>'
                 f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12">{escape(text)}</text>')
        if bar.get("href"):
            inner = f'<a href="{escape(bar["href"])}">{inner}</a>'
        parts.append(inner)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def heat_color(share: float) -> str:
    """Background for a cohort cell: white to blue by retention share (0–1)."""
    share = max(0.0, min(1.0, share))
    r, g, b = (int(255 - (255 - c) * share) for c in (37, 99, 235))
    return f"rgb({r},{g},{b})"
