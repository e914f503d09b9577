"""The report page: a summary table, then plotly figures, in one self-contained HTML file.

Why plotly, inlined: the page goes to a colleague who may be offline, and its
readers need exact values (hover a point for its value, threshold and window) and
zoom on the minutes around an alert; plotly gives both with no server. plotly.js
(~4.8 MB) is inlined once in the ``<head>``; the figures are ``<div>``\\ s that call it,
so the page needs no network (no CDN, no MathJax, no fonts from elsewhere). Static
SVG (matplotlib) would be smaller but cannot be hovered or zoomed.

Sections: summary; prediction drift and each feature's statistics over time
(value, calibrated threshold dashed, PSI's conventional 0.1/0.25 bands dotted,
alerts raised ▲ and cleared ▼); both models' performance (rolling solid,
cumulative dotted, detector firings as vertical lines, the challenger's McNemar
p-value against alpha); label delay (quantiles over time and their latest
distribution) and the learner's counters.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from streamscore.cli.report_data import ReportData, Series, SummaryRow

COLORS = {"batch": "#1f77b4", "online": "#ff7f0e"}
RAISE, CLEAR, THRESHOLD = "#d62728", "#2ca02c", "#7f7f7f"
PERF_ORDER = ("accuracy", "log_loss", "roc_auc", "macro_f1", "balanced_accuracy")
DELAYS = ("delay_p50_ms", "delay_p90_ms", "delay_p99_ms", "delay_max_ms", "delay_mean_ms")
COUNTERS = ("learned", "duplicates", "invalid")  # first; other label counters after them
CONFIG = {"displaylogo": False, "responsive": True}


def when(ts: int | None) -> str:
    """UTC text of an epoch-ms time.

    >>> when(1767225600000), when(None)
    ('2026-01-01 00:00:00', '-')
    """
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _x(ts: list[int]) -> list[str]:
    # plotly reads these as dates; milliseconds kept so close points stay apart
    return [datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for t in ts]


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def _layout(fig: Any, title: str, height: int) -> None:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
        # the legend just under the x axis labels, whatever the figure's height
        legend={"orientation": "h", "yanchor": "top", "y": -55 / max(height - 100, 100)},
        template="plotly_white",
        hovermode="closest",
    )


def statistic_figure(data: ReportData, name: str) -> Any:
    """One feature (or the score): a panel per metric, value against threshold, alerts marked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metrics = [m for (n, m) in data.statistics if n == name]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=metrics, horizontal_spacing=0.06)
    for col, metric in enumerate(metrics, start=1):
        series = data.statistics[(name, metric)]
        legend = col == 1
        fig.add_trace(
            go.Scatter(x=_x(series.ts), y=series.values, mode="lines+markers", name="value",
                       line={"color": "#1f77b4"}, marker={"size": 4}, showlegend=legend,
                       legendgroup="value"),
            row=1, col=col,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=_x(series.ts), y=series.thresholds, mode="lines", name="threshold",
                       line={"color": THRESHOLD, "dash": "dash"}, showlegend=legend,
                       legendgroup="threshold"),
            row=1, col=col,
        )  # fmt: skip
        if metric == "psi":
            for level, value in (("moderate", 0.1), ("major", 0.25)):
                fig.add_hline(y=value, line={"color": "#bbbbbb", "dash": "dot", "width": 1},
                              annotation_text=f"PSI {level}", annotation_font_size=9,
                              row=1, col=col)  # fmt: skip
        _alert_markers(fig, data.alerts.get((name, metric), []), legend, col)
    kind = data.kinds.get(name, "feature")
    title = f"{name} — {'prediction (score)' if kind == 'prediction' else 'feature'} drift"
    _layout(fig, title, 300)
    return fig


def _alert_markers(fig: Any, alerts: list[dict], legend: bool, col: int) -> None:
    import plotly.graph_objects as go

    for state, symbol, color in (
        ("raise", "triangle-up", RAISE),
        ("clear", "triangle-down", CLEAR),
    ):
        chosen = [a for a in alerts if a.get("state", "raise" if a["alert"] else "clear") == state]
        if not chosen:
            continue
        fig.add_trace(
            go.Scatter(
                x=_x([a["ts"] for a in chosen]), y=[a["value"] for a in chosen], mode="markers",
                name="alert cleared" if state == "clear" else "alert raised",
                marker={"symbol": symbol, "size": 13, "color": color,
                        "line": {"width": 1, "color": "black"}},
                showlegend=legend, legendgroup=state,
            ),
            row=1, col=col,
        )  # fmt: skip


def performance_figure(data: ReportData) -> Any:
    """Both models' metrics over time, detector firings and the challenger's p-value."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metrics = [m for m in PERF_ORDER if any(k[1] == m for k in data.performance)]
    rows = len(metrics) + (1 if data.challenger else 0)
    titles = [*metrics] + (
        ["challenger: McNemar p-value (online vs batch)"] if data.challenger else []
    )
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, subplot_titles=titles,
                        vertical_spacing=0.08)  # fmt: skip
    for row, metric in enumerate(metrics, start=1):
        for model in ("batch", "online"):
            for scope, dash in (("rolling", "solid"), ("cumulative", "dot")):
                series = data.performance.get((model, metric, scope))
                if series is None:
                    continue
                fig.add_trace(
                    go.Scatter(x=_x(series.ts), y=series.values, mode="lines",
                               name=f"{model} {scope}", legendgroup=f"{model} {scope}",
                               line={"color": COLORS[model], "dash": dash},
                               showlegend=row == 1),
                    row=row, col=1,
                )  # fmt: skip
    if data.challenger:
        _challenger(fig, data, rows)
    _detectors(fig, data, rows)
    _versions(fig, data)
    _layout(fig, "batch and online models: prequential performance", 230 * rows + 80)
    return fig


def _challenger(fig: Any, data: ReportData, row: int) -> None:
    import plotly.graph_objects as go

    records = data.challenger
    colors = [COLORS.get(str(r.get("winner")), THRESHOLD) for r in records]
    text = [f"winner: {r.get('winner') or 'none'}" for r in records]
    fig.add_trace(
        go.Scatter(x=_x([r["ts"] for r in records]), y=[r["value"] for r in records],
                   mode="lines+markers", name="McNemar p", text=text,
                   marker={"color": colors, "size": 7}, line={"color": "#999999"}),
        row=row, col=1,
    )  # fmt: skip
    alpha = next((r["threshold"] for r in reversed(records) if r["threshold"] is not None), None)
    if alpha is not None:
        fig.add_hline(y=alpha, line={"color": RAISE, "dash": "dash"}, row=row, col=1,
                      annotation_text=f"alpha {alpha:g}", annotation_font_size=9)  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power", row=row, col=1)


def _detectors(fig: Any, data: ReportData, rows: int) -> None:
    import plotly.graph_objects as go

    shown: set[str] = set()
    for record in data.detectors:
        model = record["name"]
        x = _x([record["ts"]])[0]
        for row in range(1, rows + 1):
            fig.add_vline(x=x, line={"color": COLORS.get(model, RAISE), "width": 1, "dash": "dash"},
                          opacity=0.5, row=row, col=1)  # fmt: skip
        label = f"detector on {model}"
        fig.add_trace(
            go.Scatter(x=[x], y=[1.0], mode="markers", name=label, legendgroup=label,
                       showlegend=label not in shown,
                       marker={"symbol": "x", "size": 10, "color": COLORS.get(model, RAISE)},
                       text=[f"{record['metric']} on {model}, error rate {_num(record['value'])}"],
                       hoverinfo="text+x"),
            row=1, col=1,
        )  # fmt: skip
        shown.add(label)


def _versions(fig: Any, data: ReportData) -> None:
    """A version that took over during the range: a vertical line where its records begin."""
    for version, (first, _) in sorted(data.versions.items(), key=lambda kv: kv[1][0])[1:]:
        fig.add_vline(x=_x([first])[0], line={"color": "#2ca02c", "width": 2},
                      annotation_text=f"v{version}", annotation_font_color="#2ca02c")  # fmt: skip


def delay_figure(data: ReportData) -> Any:
    """Label delay quantiles over time, their latest distribution, and the learner's counters."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = ["delay quantiles over time (s)", "latest delay distribution (s)", "labels counted"]
    fig = make_subplots(rows=1, cols=3, column_widths=[0.45, 0.25, 0.3], subplot_titles=titles)
    for metric in DELAYS:
        series = data.labels.get(metric)
        if series is not None:
            fig.add_trace(_seconds_line(series, metric), row=1, col=1)
    latest = [
        (m, value)
        for m in DELAYS
        if m in data.labels and (value := data.labels[m].values[-1]) is not None
    ]
    if latest:
        fig.add_trace(
            go.Bar(x=[m.removeprefix("delay_").removesuffix("_ms") for m, _ in latest],
                   y=[v / 1000 for _, v in latest], name="latest", showlegend=False,
                   marker={"color": "#9467bd"}),
            row=1, col=2,
        )  # fmt: skip
    counters = sorted(
        (m for m in data.labels if not m.startswith("delay_")),
        key=lambda m: (COUNTERS.index(m) if m in COUNTERS else len(COUNTERS), m),
    )
    for metric in counters:
        series = data.labels[metric]
        if any(series.values):
            fig.add_trace(go.Scatter(x=_x(series.ts), y=series.values, mode="lines", name=metric),
                          row=1, col=3)  # fmt: skip
    fig.update_yaxes(type="log", row=1, col=1)
    _layout(fig, "label delay (label time − event time)", 340)
    return fig


def _seconds_line(series: Series, metric: str) -> Any:
    import plotly.graph_objects as go

    values = [v / 1000 if v is not None else None for v in series.values]
    name = metric.removeprefix("delay_").removesuffix("_ms")
    return go.Scatter(x=_x(series.ts), y=values, mode="lines", name=name)


def summary_table(rows: list[SummaryRow]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("statistic", "kind", "metric", "last value", "threshold", "alerts",
                  "first alert (UTC)", "now")
    )  # fmt: skip
    body = []
    for r in rows:
        cls = ' class="alerting"' if r.alerting else (' class="alerted"' if r.alerts else "")
        now = "ALERT" if r.alerting else "ok"
        cells = (r.name, r.kind, r.metric, _num(r.last), _num(r.threshold), str(r.alerts),
                 when(r.first_alert), now)  # fmt: skip
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    rows_html = "".join(body)
    return (
        f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>'
    )


STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px 32px;
       color: #222; max-width: 1500px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; }
p.meta, p.note { color: #555; font-size: 13px; margin: 2px 0; }
table.summary, table.events { border-collapse: collapse; font-size: 13px; margin-top: 8px; }
table.summary th, table.summary td, table.events th, table.events td {
    border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
table.summary th:nth-child(-n+3), table.summary td:nth-child(-n+3),
table.events td:nth-child(-n+4) { text-align: left; }
table.summary th, table.events th { background: #f3f3f3; }
tr.alerting td { background: #fde2e1; color: #a50f15; font-weight: 600; }
tr.alerted td { background: #fff4e0; }
.figure { margin: 8px 0 16px 0; }
"""


def events_table(data: ReportData) -> str:
    rows = (
        [
            (a["ts"], "alert " + str(a.get("state", "raise" if a["alert"] else "clear")), a)
            for alerts in data.alerts.values()
            for a in alerts
        ]
        + [(d["ts"], "detector", d) for d in data.detectors]
        + [(r["ts"], f"retrain {r.get('state', '?')}", r) for r in data.retrains]
    )
    if not rows:
        return '<p class="note">No alert, detector or retraining record in this range.</p>'
    head = "".join(f"<th>{h}</th>" for h in ("time (UTC)", "event", "name", "metric", "value",
                                              "threshold", "window n"))  # fmt: skip
    body = "".join(
        "<tr>" + "".join(
            f"<td>{html.escape(c)}</td>"
            for c in (when(ts), event, r["name"], r["metric"], _num(r["value"]),
                      _num(r["threshold"]), str(r["window"].get("n", "-")))
        ) + "</tr>"
        for ts, event, r in sorted(rows, key=lambda row: row[0])
    )  # fmt: skip
    return f'<table class="events"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _div(fig: Any) -> str:
    return (
        '<div class="figure">'
        + fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG)
        + "</div>"
    )


def render_page(data: ReportData, source: str, skipped: str, generated: int) -> str:
    """The whole page as text."""
    from plotly.offline import get_plotlyjs

    versions = ", ".join(
        f"v{v} ({when(first)} – {when(last)})" for v, (first, last) in data.versions.items()
    )
    meta = [
        f"Records: {data.n_records:,} from {html.escape(source)}, written {when(data.start)} – "
        f"{when(data.end)} UTC. Versions: {html.escape(versions)}.",
        f"Generated {when(generated)} UTC by streamscore report.",
    ]
    if len(data.models_seen) > 1:
        others = ", ".join(m for m in data.models_seen if m != data.model)
        meta.append(f"Other models in the source (not shown): {html.escape(others)}.")
    if skipped:
        meta.append(html.escape(skipped))
    names = list(dict.fromkeys(r.name for r in data.summary))
    parts = [
        f"<h1>Drift report — model {html.escape(data.model)}</h1>",
        *(f'<p class="meta">{m}</p>' for m in meta),
        "<h2>Summary</h2>",
        '<p class="note">Per statistic: its latest value and threshold, how many alerts rose '
        "and when the first did. Red: in alert now; amber: alerted earlier, cleared since.</p>",
        summary_table(data.summary) if data.summary else '<p class="note">No drift statistic.</p>',
        "<h2>Prediction and feature drift</h2>",
        '<p class="note">Each window\'s statistic (blue) against its threshold (dashed, from '
        "the false-alarm budget); PSI's conventional 0.1 and 0.25 bands dotted; ▲ an alert "
        "raised, ▼ cleared. Hover a point for its value.</p>",
        *(_div(statistic_figure(data, name)) for name in names),
        "<h2>Model performance</h2>",
        _div(performance_figure(data)) if data.performance or data.challenger
        else '<p class="note">No performance record in this range.</p>',
        "<h2>Label delay</h2>",
        _div(delay_figure(data)) if data.labels
        else '<p class="note">No label record in this range.</p>',
        "<h2>Alerts, detector events and retraining</h2>",
        events_table(data),
    ]  # fmt: skip
    title = f"streamscore drift report — {html.escape(data.model)}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
