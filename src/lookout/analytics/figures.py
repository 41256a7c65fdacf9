"""Report figures (matplotlib, no display needed): PNG bytes from an :class:`AnalyticsResult`.

The same functions serve ``lookout report`` (files) and ``/api/analytics/figures/<name>.png``.
Figures are built on :class:`matplotlib.figure.Figure` objects (no pyplot state), so they are
safe to draw from the API's worker threads.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from lookout.sector import Sector

FIGURES = ("missions_timeline", "mission_counts", "corridor_map", "launch_heatmap", "alert_stats")
_PATTERN_COLORS = {"orbit": "#d62728", "racetrack": "#ff7f0e", "loiter": "#9467bd", "survey": "#2ca02c"}


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), tz=UTC)


def _new(w: float = 9.0, h: float = 4.5) -> Figure:
    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777")


def _timeline(res) -> Figure:
    fig = _new()
    ax = fig.add_subplot()
    ms = res.missions
    if not ms:
        _empty(ax, "no surveillance missions in the window")
    else:
        idents = sorted({m.icao24 for m in ms})
        row = {k: i for i, k in enumerate(idents)}
        import matplotlib.dates as mdates

        for m in ms:
            x0 = mdates.date2num(_dt(m.start))
            ax.broken_barh([(x0, mdates.date2num(_dt(m.end)) - x0)], (row[m.icao24] - 0.4, 0.8),
                           color=_PATTERN_COLORS.get(m.pattern, "#555"))
        labels = []
        for k in idents:
            cs = next((m.callsign for m in ms if m.icao24 == k and m.callsign), None)
            labels.append(f"{k} {cs}" if cs else k)
        ax.set_yticks(range(len(idents)), labels, fontsize=7)
        ax.xaxis_date()
        ax.set_xlim(mdates.date2num(_dt(res.query.start)), mdates.date2num(_dt(res.query.end)))
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=c, label=p) for p, c in _PATTERN_COLORS.items()], fontsize=7, loc="upper left")
        fig.autofmt_xdate()
    ax.set_title(f"Surveillance missions ({len(ms)})")
    return fig


def _counts(res) -> Figure:
    fig = _new()
    ax = fig.add_subplot()
    cs = res.counts
    if not cs:
        _empty(ax, "no periods")
    else:
        x = np.arange(len(cs))
        ax.bar(x, [c.count for c in cs], color="#1f77b4", label="missions")
        rate = res.baseline.get("baseline_rate_per_day", 0.0)
        exp = [rate * (c.period_end - c.period_start) / 86400.0 for c in cs]
        ax.step(np.concatenate([x - 0.5, [x[-1] + 0.5]]), exp + exp[-1:], where="post", color="#d62728",
                label=f"baseline rate ({rate:.3g}/day)")
        ax.set_xticks(x, [_dt(c.period_start).strftime("%Y-%m-%d") for c in cs], rotation=45, ha="right", fontsize=7)
        ax.legend(fontsize=8)
    ax.set_ylabel(f"missions per {res.query.period}")
    ax.set_title(res.baseline.get("text", "Missions against baseline"), fontsize=10)
    fig.tight_layout()
    return fig


def _sector_background(ax, sector: Sector) -> None:
    x, y = sector.polygon.exterior.xy
    ax.plot(x, y, color="#999", lw=0.8)
    bx, by = sector.border.xy
    ax.plot(bx, by, color="k", lw=1.5, label="border")
    ax.set_aspect(1.0 / np.cos(np.radians(sector.origin[0])))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")


def _corridor_map(res, sector: Sector) -> Figure:
    fig = _new(8, 8)
    ax = fig.add_subplot()
    _sector_background(ax, sector)
    cr = res.crossings
    for d, c in (("north", "#d62728"), ("south", "#1f77b4")):
        m = cr.direction == d
        if m.any():
            ax.scatter(cr.lon[m], cr.lat[m], s=3, color=c, alpha=0.4, label=f"{d}bound ({int(m.sum())})")
    polys = [np.asarray(c.boundary) for c in res.corridors if c.boundary]
    if polys:
        ax.add_collection(PolyCollection(polys, facecolor="none", edgecolor="#ff7f0e", lw=2))
        for c in res.corridors:
            ax.annotate(f"#{c.rank} ({c.count})", (c.center_lon, c.center_lat), xytext=(6, 6),
                        textcoords="offset points", fontsize=9, color="#a04000", weight="bold")
    if not len(cr):
        _empty(ax, "no crossings in the window")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"Crossing corridors ({len(res.corridors)}) from {len(cr)} crossings")
    return fig


def _launch_heatmap(res, sector: Sector) -> Figure:
    fig = _new(8, 8)
    ax = fig.add_subplot()
    _sector_background(ax, sector)
    lat, lon = res.launch_lat, res.launch_lon
    if lat.size:
        x0, y0, x1, y1 = sector.polygon.bounds
        hb = ax.hexbin(lon, lat, gridsize=40, mincnt=1, cmap="inferno_r", extent=(x0, x1, y0, y1))
        fig.colorbar(hb, ax=ax, shrink=0.7, label="launches")
        for h in res.hotspots[:5]:
            ax.annotate(str(h.count), (h.center_lon, h.center_lat), xytext=(5, 5), textcoords="offset points",
                        fontsize=8)
    else:
        _empty(ax, "no Remote ID operator positions in the window")
    ax.set_title(f"Drone launch points ({lat.size})")
    return fig


def _alert_stats(res) -> Figure:
    fig = _new(9, 4)
    a = res.alerts
    ax1 = fig.add_subplot(1, 2, 1)
    by_rule = a.get("by_rule", {})
    if by_rule:
        ax1.barh(list(by_rule), list(by_rule.values()), color="#1f77b4")
        ax1.tick_params(axis="y", labelsize=7)
    else:
        _empty(ax1, "no alerts")
    ax1.set_title(f"Alerts by rule ({a.get('total', 0)})", fontsize=10)
    ax2 = fig.add_subplot(1, 2, 2)
    per_day = a.get("per_day", {})
    if per_day:
        ax2.bar(range(len(per_day)), list(per_day.values()), color="#ff7f0e")
        ax2.set_xticks(range(len(per_day)), list(per_day), rotation=45, ha="right", fontsize=7)
    else:
        _empty(ax2, "no alerts")
    ax2.set_title("Alerts per day", fontsize=10)
    fig.tight_layout()
    return fig


def build_figure(name: str, res, sector: Sector) -> Figure:
    if name == "missions_timeline":
        return _timeline(res)
    if name == "mission_counts":
        return _counts(res)
    if name == "corridor_map":
        return _corridor_map(res, sector)
    if name == "launch_heatmap":
        return _launch_heatmap(res, sector)
    if name == "alert_stats":
        return _alert_stats(res)
    raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")


def figure(name: str, res, sector: Sector) -> bytes:
    """The named figure as PNG bytes."""
    fig = build_figure(name, res, sector)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def pdf_report(res, sector: Sector, path: str | Path) -> None:
    """A PDF with a summary page and every figure."""
    data = res.to_dict()
    with PdfPages(path) as pdf:
        fig = _new(8.27, 11.69)
        lines = [
            "Lookout analytics report",
            f"{_dt(res.query.start):%Y-%m-%d %H:%M} to {_dt(res.query.end):%Y-%m-%d %H:%M} UTC, "
            f"region {res.region_name}",
            "",
            data["missions"]["baseline"].get("text", ""),
            f"{data['missions']['count']} missions by {data['missions']['aircraft']} aircraft",
            f"{data['crossings']['count']} crossings in {len(data['corridors'])} corridors",
            f"{data['launch_points']['count']} launch points",
            f"{data['alerts'].get('total', 0)} alerts",
        ]
        for i, line in enumerate(lines):
            fig.text(0.08, 0.92 - i * 0.03, line, fontsize=14 if i == 0 else 10)
        pdf.savefig(fig)
        for name in FIGURES:
            pdf.savefig(build_figure(name, res, sector))
