"""The monitor's views of a :class:`~streamscore.cli.monitor_state.MonitorState`: the full
dashboard (rich renderables) and the one-line summary of the compact mode.

Panels, top to bottom: the flow (events/s, lag, dead letters/s, model version, the
online model's progress); the features' latest drift statistics against their
thresholds, a feature in alert in red; both models' rolling metrics, label delay
and the champion/challenger test; the log of alerts, detector firings and
challenger changes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from streamscore.cli.monitor_state import MonitorState, retrain_text

NO_DATA = "no data yet"
SECOND_METRIC = ("ks", "chi2")  # numeric features get KS, categorical ones chi-square
METRICS = ("accuracy", "log_loss", "roc_auc", "macro_f1")
EVENT_LINES = 12
FEATURES_WIDTH = 96
ALWAYS_COUNTED = ("learned", "duplicates", "invalid")  # other label counters when not 0


def clock(ts_ms: float) -> str:
    """``HH:MM:SS`` UTC of an epoch-ms time.

    >>> clock(1767225600000 + 3_723_000)
    '01:02:03'
    """
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%H:%M:%S")


def ago(ts_ms: float | None, now: float) -> str:
    """How long ago, shortly: ``4s``, ``3m``, ``2h``.

    >>> ago(1000, 5.0), ago(0, 200.0), ago(None, 1.0)
    ('4s', '3m', '-')
    """
    if ts_ms is None:
        return "-"
    seconds = max(0.0, now - ts_ms / 1000)
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:.0f}s"


def num(value: float | None, digits: int = 3) -> str:
    """A value for a table cell (``-`` when missing).

    >>> num(0.12345), num(None), num(12345.6), num(25.329), num(947.84)
    ('0.123', '-', '12,346', '25.3', '948')
    """
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.{digits}f}"


def rate(value: float | None) -> str:
    return "?" if value is None else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _flow(state: MonitorState, now: float) -> Table:
    events, letters = state.rates(now)
    totals = state.totals()
    lag = state.lag
    scoring = state.model_scoring()
    grid = Table.grid(padding=(0, 3))
    for _ in range(6):
        grid.add_column()
    version = f"{state.model} v{scoring.version}" if scoring else (state.model or NO_DATA)
    online = scoring.online if scoring else None
    learned = f"learned {online.get('n_learned', '?'):,}" if online else "not yet"
    grid.add_row(
        Text.assemble(("events/s ", "dim"), (rate(events), "bold cyan")),
        Text.assemble(("lag ", "dim"), (f"{lag.total:,}" if lag else "?", "bold")),
        Text.assemble(("dead letters/s ", "dim"), (rate(letters), "bold")),
        Text.assemble(("model ", "dim"), (version, "bold green" if scoring else "yellow")),
        Text.assemble(("online model ", "dim"), (learned, "bold")),
        Text.assemble(
            ("predictions ", "dim"), (f"{totals[0]:,}" if totals else "?", ""),
            ("  dead letters ", "dim"), (f"{totals[1]:,}" if totals else "?", ""),
        ),
    )  # fmt: skip
    return grid


def _metric_order(metric: str) -> tuple[int, str]:
    order = ("psi", *SECOND_METRIC, "missing")
    return (order.index(metric) if metric in order else len(order), metric)


def _stat_cell(state: MonitorState, record: dict | None) -> Text:
    if record is None:
        return Text("")
    text = f"{num(record['value'])} / {num(record['threshold'])}"
    if state.alerting(record):
        return Text(text, style="bold red")
    return Text(text, style="dim" if record["threshold"] is None else "")


def features_table(state: MonitorState, now: float) -> RenderableType:
    features = state.features()
    if not features:
        return Panel(Text(NO_DATA, style="yellow"), title="feature drift", title_align="left")
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column("feature", no_wrap=True, overflow="ellipsis", min_width=8)
    for header in ("psi / thr", "ks|chi2 / thr", "missing / thr"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("window n", justify="right", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    for name, metrics in features.items():
        second = next((metrics[m] for m in SECOND_METRIC if m in metrics), None)
        alerts = sorted((m for m, r in metrics.items() if state.alerting(r)), key=_metric_order)
        newest = max(metrics.values(), key=lambda r: r["ts"])
        status = (
            Text(f"ALERT {','.join(alerts)}", style="bold white on red")
            if alerts
            else Text("ok", style="green")
        )
        label = name if newest["kind"] == "feature" else f"{name} (pred.)"
        table.add_row(
            Text(label, style="bold red" if alerts else ""),
            _stat_cell(state, metrics.get("psi")),
            _stat_cell(state, second),
            _stat_cell(state, metrics.get("missing")),
            status,
            f"{newest['window'].get('n', '-')}",
            ago(newest["ts"], now),
        )
    return Panel(table, title="feature drift (latest window)", title_align="left")


def models_table(state: MonitorState, now: float) -> RenderableType:
    view = state.model_drift()
    perf = view.performance if view else {}
    if not perf:
        return Panel(Text(NO_DATA, style="yellow"), title="models", title_align="left")
    metrics = [m for m in METRICS if any(k[1] == m for k in perf)]
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column("model")
    for metric in metrics:
        table.add_column(metric.replace("_", " "), justify="right")
    table.add_column("acc. cum.", justify="right")
    table.add_column("n", justify="right")
    for model in ("batch", "online"):
        rolling = {m: perf.get((model, m, "rolling")) for m in metrics}
        cumulative = perf.get((model, "accuracy", "cumulative"))
        any_record = next((r for r in rolling.values() if r), cumulative)
        if any_record is None:
            continue
        table.add_row(
            model,
            *[num(r["value"]) if r else "-" for r in rolling.values()],
            num(cumulative["value"]) if cumulative else "-",
            f"{(cumulative or any_record)['window'].get('n', '-')}",
        )
    rows: list[RenderableType] = [table]
    labels = view.labels if view else {}
    if labels:
        delay = "  ".join(
            f"{q} {num(labels[f'delay_{q}_ms']['value'] / 1000, 2)}s"
            for q in ("p50", "p90", "p99")
            if labels.get(f"delay_{q}_ms") and labels[f"delay_{q}_ms"]["value"] is not None
        )
        counts = "  ".join(
            f"{c} {record['value']:,.0f}"
            for c, record in sorted(labels.items(), key=lambda kv: _counter_order(kv[0]))
            if not c.startswith("delay_")
            and record["value"] is not None
            and (c in ALWAYS_COUNTED or record["value"])
        )
        rows.append(Text.assemble(("label delay ", "dim"), delay or "-"))
        rows.append(Text.assemble(("labels ", "dim"), counts or "-"))
    challenger = view.challenger if view else None
    if challenger:
        winner = challenger.get("winner") or "none yet"
        p_value, alpha = challenger["value"], challenger["threshold"]
        rows.append(
            Text.assemble(
                ("challenger ", "dim"),
                (f"winner {winner}", "bold magenta" if challenger["alert"] else ""),
                f"  McNemar p={'-' if p_value is None else f'{p_value:.2g}'}",
                f" (alpha {num(alpha, 2)})",
            )
        )
    retrain = view.retrain if view else None
    if retrain:
        rows.append(
            Text.assemble(("retrain ", "dim"), retrain_text(retrain).removeprefix("retrain "))
        )
    return Panel(Group(*rows), title="models (rolling window)", title_align="left")


def _counter_order(name: str) -> tuple[int, str]:
    return (ALWAYS_COUNTED.index(name) if name in ALWAYS_COUNTED else len(ALWAYS_COUNTED), name)


def events_panel(state: MonitorState, lines: int = EVENT_LINES) -> RenderableType:
    recent = state.recent(lines)
    if not recent:
        body: RenderableType = Text("no alert, detector or challenger record yet", style="dim")
    else:
        texts = [
            Text.assemble(
                (clock(h.ts) + " ", "dim"),
                (f"{h.kind:<10} ", "cyan"),
                (h.text, "bold red" if h.alert else ""),
                no_wrap=True,
                overflow="ellipsis",
            )
            for h in recent
        ]
        body = Group(*texts)
    return Panel(body, title="alerts, detectors, challenger", title_align="left")


def dashboard(state: MonitorState, now: float | None = None, height: int = 0) -> RenderableType:
    """The whole screen; the events log gets the rows a ``height``-row terminal has left."""
    now = time.time() if now is None else now
    up = int(now - state.started)
    title = Text.assemble(
        ("streamscore monitor", "bold"),
        f"  {clock(now * 1000)} UTC  up {up // 60}:{up % 60:02d}",
    )
    head: list[RenderableType] = [_flow(state, now)]
    if state.broker_error:
        head.append(Text(f"broker: {state.broker_error}", style="bold yellow", no_wrap=True))
    side = Table.grid(expand=True)
    side.add_column(width=FEATURES_WIDTH)  # the features' cells never wrap: they get what they need
    side.add_column(ratio=1)
    lines = max(EVENT_LINES, height - 18)  # 18: the flow, the models panel, borders, footer
    side.add_row(
        features_table(state, now), Group(models_table(state, now), events_panel(state, lines))
    )
    footer = Text("Ctrl-C to quit", style="dim")
    if state.skipped.total:
        footer.append("   " + state.skipped.summary(), style="yellow")
    return Group(Panel(Group(*head), title=title), side, footer)


def summary_line(state: MonitorState, now: float | None = None) -> str:
    """One line for the compact mode: flow, model, alerts, metrics, detectors, challenger."""
    now = time.time() if now is None else now
    events, letters = state.rates(now)
    scoring = state.model_scoring()
    parts = [
        clock(now * 1000),
        f"events/s {rate(events)}",
        f"lag {state.lag.total:,}" if state.lag else "lag ?",
        f"dead letters/s {rate(letters)}",
        f"model {state.model} v{scoring.version}" if scoring else f"model {state.model or '?'}",
    ]
    if state.broker_error:
        parts.append(f"broker: {state.broker_error}")
    view = state.model_drift()
    if view is None and scoring is None:
        return " | ".join([*parts, NO_DATA])
    alerts: dict[str, list[str]] = {}
    for name, metric in sorted(state.active_alerts(), key=lambda a: _metric_order(a[1])):
        alerts.setdefault(name, []).append(metric)
    parts.append(
        "alerts: " + "; ".join(f"{n} {','.join(m)}" for n, m in alerts.items())
        if alerts
        else "alerts: none"
    )
    if view is not None:
        acc = [
            f"{model} {num(view.performance[(model, 'accuracy', 'rolling')]['value'])}"
            for model in ("batch", "online")
            if (model, "accuracy", "rolling") in view.performance
        ]
        if acc:
            parts.append("accuracy " + " ".join(acc))
        detectors = sum(
            1 for h in state.happenings if h.kind == "detector" and h.model == state.model
        )
        parts.append(f"detector firings {detectors}")
        if view.challenger:
            parts.append(f"challenger winner {view.challenger.get('winner') or 'none'}")
    return " | ".join(parts)
