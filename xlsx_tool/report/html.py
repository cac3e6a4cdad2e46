"""Gap report as HTML (self-contained, printable A4) and Markdown, from jinja2 templates."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from markupsafe import Markup

from xlsx_tool.catalog.model import KIND_LABELS
from xlsx_tool.scoring.gap import GapReport
from xlsx_tool.util.numbers import percent
from xlsx_tool.util.templates import render


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "－"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.{digits}f}"


def fmt_diff(x: float | None) -> str:
    if x is None:
        return "－"
    return ("+" if x > 0 else "") + fmt(x)


def pct(x: float | None) -> str:
    return "－" if x is None else percent(x)


def svg_chart(report: GapReport, width: int = 680) -> Markup:
    """Horizontal bars: own achievement rate per goal against the national mean (inline SVG)."""
    data = report.chart()
    scope = escape(report.national_scope)
    label_w, bar_h, gap, top = 120, 11, 12, 28
    plot_w = width - label_w - 60
    height = top + len(data) * (2 * bar_h + gap) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="目標別得点率と{scope}平均">',
             '<g font-size="11" font-family="sans-serif">',
             f'<rect x="{label_w}" y="6" width="10" height="10" fill="#2f6fb3"/>'
             f'<text x="{label_w + 14}" y="15">自団体</text>',
             f'<rect x="{label_w + 70}" y="6" width="10" height="10" fill="#b0b0b0"/>'
             f'<text x="{label_w + 84}" y="15">{scope}平均</text>']
    for tick in range(0, 101, 20):
        x = label_w + plot_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20}" stroke="#e0e0e0"/>'
                     f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="#666">{tick}%</text>')
    for i, (label, own, nat) in enumerate(data):
        y = top + i * (2 * bar_h + gap)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h + 4}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect class="own" data-rate="{own:.6f}" x="{label_w}" y="{y}" '
                     f'width="{plot_w * own:.1f}" height="{bar_h}" fill="#2f6fb3"/>'
                     f'<text x="{label_w + plot_w * own + 4:.1f}" y="{y + bar_h - 1}" fill="#2f6fb3">{pct(own)}</text>')
        if nat is not None:
            parts.append(f'<rect class="national" data-rate="{nat:.6f}" x="{label_w}" y="{y + bar_h}" '
                         f'width="{plot_w * nat:.1f}" height="{bar_h}" fill="#b0b0b0"/>'
                         f'<text x="{label_w + plot_w * nat + 4:.1f}" y="{y + 2 * bar_h - 1}" fill="#666">'
                         f'{pct(nat)}</text>')
    parts.append("</g></svg>")
    return Markup("".join(parts))


def _context(report: GapReport, generated_at: str | None) -> dict:
    cat = report.catalog
    who = " ".join(str(report.entity.get(k) or "") for k in ("prefecture", "entity_name")).strip()
    return {
        "r": report, "cat": cat, "res": report.result, "who": who or "（団体名未記入）",
        "kind_label": KIND_LABELS[cat.kind], "total": report.total_row,
        "grants": [row for row in report.rows if row.level == "grant"],
        "generated_at": generated_at or datetime.now().strftime("%Y-%m-%d %H:%M"),
        "fmt": fmt, "fmt_diff": fmt_diff, "pct": pct,
    }


def render_html(report: GapReport, generated_at: str | None = None) -> str:
    return render("report.html.j2", chart=svg_chart(report), **_context(report, generated_at))


def render_markdown(report: GapReport, generated_at: str | None = None) -> str:
    return render("report.md.j2", **_context(report, generated_at))
