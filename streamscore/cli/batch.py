"""Batch-model commands: ``train``, ``predict`` and ``models list|show|promote``.

Human-readable summaries go to stderr; the one line a script wants (the version
directory, the output file) is printed last on stdout.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from streamscore.cli.output import print_json
from streamscore.cli.output import stdout as _stdout
from streamscore.ground.config import get_settings
from streamscore.ground.errors import BrokerError, ModelError
from streamscore.models.registry import Registry

models_app = typer.Typer(help="List, inspect and promote trained model versions.")
err = Console(stderr=True, soft_wrap=True)
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def registry() -> Registry:
    """The registry at ``STREAMSCORE_REGISTRY_PATH``."""
    return Registry(get_settings().registry_path)


def default_model_name(data: Path) -> str:
    """A model name from a data file's name.

    >>> default_model_name(Path("data/Credit Card 2024.csv.gz"))
    'Credit-Card-2024'
    """
    stem = data.name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:100] or "model"


def train(
    data: Path = typer.Argument(..., help="CSV, CSV.gz, TSV, Parquet or JSONL file."),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    id_col: str | None = typer.Option(None, "--id-col", help="Row id column (not a feature)."),
    ts_col: str | None = typer.Option(
        None, "--ts-col", help="Timestamp column: not a feature; the latest rows are held out."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Model name (default: the data file's name)."
    ),
    estimator: str = typer.Option("hgb", "--estimator", "-e", help="hgb, logreg or rf."),
    test_size: float = typer.Option(0.2, "--test-size", min=0.05, max=0.5, help="Held-out share."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the split and the estimator."),
    as_json: bool = JSON,
) -> None:
    """Train a classifier on DATA and save it as the next version in the registry."""
    from streamscore.ground.tables import file_sha256, read_table
    from streamscore.models.pipeline import check_estimator
    from streamscore.models.training import train as train_model

    check_estimator(estimator)
    name = model or default_model_name(data)
    with _progress() as progress:
        task = progress.add_task(f"reading {data}", total=None)
        frame = read_table(data)

        def step(message: str) -> None:
            progress.update(task, description=message)

        loaded = train_model(
            frame,
            target,
            name=name,
            registry=registry(),
            estimator=estimator,
            id_col=id_col,
            ts_col=ts_col,
            seed=seed,
            test_size=test_size,
            data_sha256=file_sha256(data),
            source=str(data),
            progress=step,
        )
    _print_summary(loaded.manifest, registry())
    if as_json:
        print_json(_version_summary(loaded.manifest, registry(), path=loaded.path))
        return
    print(loaded.path)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,  # the summary replaces it; an error line stays alone
        disable=not err.is_terminal,  # a spinner in a log file is noise
    )


def predict(
    data: Path = typer.Argument(..., help="CSV, CSV.gz, TSV, Parquet or JSONL file to score."),
    model: str = typer.Option(..., "--model", "-m", help="Model name."),
    version: str | None = typer.Option(None, "--version", "-v", help="Default: current."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output file (format by suffix); missing folders are created."
    ),
    as_json: bool = JSON,
) -> None:
    """Score DATA offline with a model version, exactly as the stream would."""
    from streamscore.ground.tables import read_table, write_table
    from streamscore.models.scoring import score_frame

    loaded = registry().load(model, version)
    scored = score_frame(loaded, read_table(data))
    write_table(scored, out)
    err.print(
        f"scored {len(scored)} rows with model {loaded.name} version {loaded.version}",
        markup=False,
        highlight=False,
    )
    if as_json:
        summary = {"out": out, "rows": len(scored), "model": loaded.name}
        print_json({**summary, "version": loaded.version})
        return
    print(out)


@models_app.command("list")
def list_models(as_json: bool = JSON) -> None:
    """Every model and version with its headline metrics; * marks the current version."""
    reg = registry()
    names = reg.models()
    if as_json:
        print_json(
            [_listed(reg, name, version) for name in names for version in reg.versions(name)]
        )
        return
    if not names:
        err.print(f"no models in {reg.path}", markup=False, highlight=False)
        return
    table = Table(
        "model",
        "version",
        "",
        "created",
        "estimator",
        "rows",
        "accuracy",
        "balanced acc.",
        "ROC AUC",
        "log loss",
    )
    for name in names:
        current = reg.current(name)
        for version in reg.versions(name):
            try:
                m = reg.manifest(name, version)
            except ModelError as exc:  # one damaged version must not hide the others
                table.add_row(name, version, "", f"damaged: {exc}")
                continue
            scores = m.get("metrics", {})
            table.add_row(
                name,
                version,
                "*" if version == current else "",
                m.get("created_at", "")[:16].replace("T", " "),
                m.get("estimator", ""),
                str(m.get("data", {}).get("rows", "")),
                *(
                    _number(scores.get(k))
                    for k in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss")
                ),
            )
    _stdout().print(table)


@models_app.command("show")
def show(
    name: str = typer.Argument(..., help="Model name."),
    version: str | None = typer.Argument(None, help="Version (default: current)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
) -> None:
    """A version's manifest: data, features, classes, metrics, libraries."""
    reg = registry()
    manifest = reg.manifest(name, version)
    if as_json:
        print(orjson.dumps(manifest, option=orjson.OPT_INDENT_2).decode())
        return
    _print_summary(manifest, reg, console=_stdout())
    features = Table("feature", "kind", "categories", title="features")
    for f in manifest["features"]:
        features.add_row(f["name"], f["kind"], str(len(f.get("categories", []))) or "")
    _stdout().print(features)


@models_app.command("promote")
def promote(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument(..., help="Version to make current."),
    local: bool = typer.Option(
        False,
        "--local",
        help="Only move this registry's CURRENT; publish nothing (workers elsewhere keep theirs).",
    ),
    as_json: bool = JSON,
) -> None:
    """Make VERSION what workers score with: publish it on model-updates, then move CURRENT.

    One step: if publishing fails, nothing changes and the error says why.
    """
    reg = registry()
    reg.version_dir(name, version)  # an unknown version fails before anything is sent
    previous = reg.current(name)
    if not local:
        from streamscore.streams.model_updates import publish

        settings = get_settings()
        try:
            publish(settings, reg, name, version)
        except BrokerError as exc:
            raise BrokerError(
                f"nothing was promoted: {exc}; `--local` changes only the local registry"
            ) from None
        err.print(
            f"published {name}/{version} on {settings.model_updates_topic}",
            markup=False,
            highlight=False,
        )
    reg.promote(name, version)
    if local:
        err.print(
            "promoted in the local registry only: running workers and workers on other "
            "machines keep their version until it is published",
            markup=False,
            highlight=False,
        )
    if as_json:
        print_json(
            {"model": name, "version": version, "previous": previous, "published": not local}
        )
        return
    print(f"{name}: current version {version} (was {previous})")


def _print_summary(manifest: dict, reg: Registry, console: Console = err) -> None:
    name, version = manifest["name"], str(manifest["version"])
    current = reg.current(name) == version
    data, split, scores = manifest["data"], manifest["split"], manifest["metrics"]
    console.print(
        f"model {name} version {version}{' (current)' if current else ''}: "
        f"{manifest['estimator_class']} predicting {manifest['target']!r} "
        f"{manifest['classes']}\n"
        f"data: {data.get('source') or 'a frame'} ({data['rows']} rows, "
        f"sha256 {data['sha256'][:12]}); {len(manifest['features'])} features; "
        f"{split['method']} split "
        f"{scores['n_train']} train / {scores['n_test']} held out\n"
        f"saved in {reg.path / name / version}",
        markup=False,
        highlight=False,
    )
    headline = Table("accuracy", "balanced acc.", "ROC AUC", "log loss", title="held-out metrics")
    headline.add_row(
        *(_number(scores.get(k)) for k in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss"))
    )
    console.print(headline)
    per_class = Table("class", "precision", "recall", "f1", "support")
    for label, row in scores.get("per_class", {}).items():
        per_class.add_row(
            label, *(_number(row[k]) for k in ("precision", "recall", "f1")), str(row["support"])
        )
    console.print(per_class)


def _listed(reg: Registry, name: str, version: str) -> dict:
    try:
        return _version_summary(reg.manifest(name, version), reg)
    except ModelError as exc:  # one damaged version must not hide the others
        return {"model": name, "version": version, "current": reg.current(name) == version,
                "error": str(exc)}  # fmt: skip


def _version_summary(manifest: dict, reg: Registry, path: Path | None = None) -> dict:
    """What ``models list --json`` and ``train --json`` say about a version."""
    name, version = manifest["name"], str(manifest["version"])
    scores = manifest.get("metrics", {})
    summary = {
        "model": name,
        "version": version,
        "current": reg.current(name) == version,
        "created_at": manifest.get("created_at"),
        "estimator": manifest.get("estimator"),
        "target": manifest.get("target"),
        "classes": manifest.get("classes"),
        "rows": manifest.get("data", {}).get("rows"),
        "metrics": {
            k: scores.get(k) for k in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss")
        },
    }
    return summary if path is None else {**summary, "path": path}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``streamscore`` CLI."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.add_typer(models_app, name="models", no_args_is_help=True)
