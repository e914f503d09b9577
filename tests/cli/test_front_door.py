"""The front door without a broker: version, help, completion, and one line for every mistake.

Each test types a command as a user would (a subprocess with its own environment)
and checks what the shell sees: the exit code, stdout, and a single ``error: ...``
line on stderr.
"""

from __future__ import annotations

import socket

import orjson
import pandas as pd
import pytest
import typer.main

import streamscore
from streamscore.cli.main import app, run
from tests.model_data import frame, train_model


def test_version(streamscore):
    for flag in ("--version", "-V"):
        result = streamscore(flag)
        assert (result.code, result.out.strip()) == (0, f"streamscore {streamscore_version()}")


def streamscore_version() -> str:
    return streamscore.__version__


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]

    def walk(cmd, prefix):
        for name, sub in getattr(cmd, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "streamscore")
def test_help_shows_flags_without_a_type(path, capsys):
    assert run([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--help" in shown and "<bool>" not in shown


def test_every_listing_or_reporting_command_has_json(capsys):
    for path in (["config"], ["kafka", "status"], ["topics", "list"], ["topics", "create"],
                 ["models", "list"], ["models", "show"], ["status"], ["tail"], ["dlq", "show"],
                 ["dlq", "replay"], ["train"], ["predict"], ["replay"], ["synth"],
                 ["models", "promote"]):  # fmt: skip
        run([*path, "--help"])
        assert "--json" in capsys.readouterr().out, path


def test_shell_completion(streamscore):
    script = streamscore("--show-completion", "bash")
    assert script.code == 0 and "_STREAMSCORE_COMPLETE=complete_bash" in script.out
    words = {"_STREAMSCORE_COMPLETE": "complete_bash", "COMP_CWORD": "1"}
    assert "tail" in streamscore(env={**words, "COMP_WORDS": "streamscore ta"}).out.split()
    option = streamscore(env={**words, "COMP_WORDS": "streamscore tail --fr", "COMP_CWORD": "2"})
    assert option.out.split() == ["--from-beginning"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nope"], "no such command 'nope'"),
        (["tail", "predictions", "--bogus"], "no such option: --bogus"),
        (["tail", "predictions", "-n", "x"], "'--lines' / '-n'"),
        (["tail", "predictions", "-n", "-1"], "greater than or equal to 0"),
        (["dlq", "show", "--stage", "validat"], "'validat' is not one of 'decode', 'validate'"),
        (["dlq", "show", "--limit", "-1"], "'--limit'"),
        (["dlq", "show", "--limit", "0"], "greater than or equal to 1"),
        (["dlq", "replay", "--stage", "scor"], "is not one of"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(streamscore, args, says):
    result = streamscore(*args)
    assert result.code == 2
    assert says in result.error_line
    assert result.error_line.endswith("--help`)")  # names the command's help


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("STREAMSCORE_PARTITIONS", "abc", "a whole number >= 1"),
        ("STREAMSCORE_PARTITIONS", "0", "a whole number >= 1"),
        ("STREAMSCORE_LOG_LEVEL", "verbose", "one of debug, info, warn, error"),
        ("STREAMSCORE_BROKER_TIMEOUT", "-1", "a number > 0"),
        ("STREAMSCORE_SECURITY_PROTOCOL", "TLS", "one of PLAINTEXT, SSL, SASL_PLAINTEXT"),
    ],
)
def test_invalid_settings_are_one_line_naming_variable_value_and_allowed(
    streamscore, variable, value, allowed
):
    for command in (["topics", "list"], ["config"], ["tail", "predictions"]):
        result = streamscore(*command, env={variable: value})
        assert result.code == 1, (command, result.err)
        assert f"{variable}='{value}' is not valid: use {allowed}" in result.error_line


@pytest.mark.parametrize(
    "command",
    [
        ["topics", "list"],
        ["tail", "predictions"],
        ["status"],
        ["worker", "--model", "m"],
        ["dlq", "show"],
    ],  # fmt: skip
    ids=" ".join,
)
def test_a_missing_tls_ca_file_is_one_line(streamscore, tmp_path, command):
    missing = tmp_path / "no-such-ca.pem"
    env = {"STREAMSCORE_SECURITY_PROTOCOL": "SSL", "STREAMSCORE_SSL_CAFILE": str(missing)}
    result = streamscore(*command, env=env)
    assert result.code == 1
    assert result.error_line == f"error: STREAMSCORE_SSL_CAFILE={missing}: no such file"


def test_a_web_port_in_use_is_one_line(streamscore, base_env):
    port = int(base_env["STREAMSCORE_WEB_PORT"])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        one = streamscore("worker", "--model", "m")
        many = streamscore("worker", "--model", "m", "--processes", "2", "--web-port", port - 1)
    for result in (one, many):
        assert result.code == 1
        assert f"web port {port} on 127.0.0.1 is in use" in result.error_line
        assert "--web-port" in result.error_line and "STREAMSCORE_WEB_PORT" in result.error_line


def test_kafka_status_and_up_speak_of_the_configured_cluster(streamscore, base_env):
    address = base_env["STREAMSCORE_BOOTSTRAP_SERVERS"]
    status = streamscore("kafka", "status")
    assert status.code == 3
    assert f"cluster at {address} (STREAMSCORE_BOOTSTRAP_SERVERS): not reachable" in status.out
    assert "local broker" not in status.out and "kafka up" not in status.out
    report = orjson.loads(streamscore("kafka", "status", "--json").out)
    assert report["kind"] == "configured" and report["running"] is False
    up = streamscore("kafka", "up")
    assert up.code == 1
    said, error = up.err.strip().splitlines()  # what it does, then the one error line
    assert (
        said
        == f"STREAMSCORE_BOOTSTRAP_SERVERS is set: nothing to start, using the cluster at {address}"
    )
    assert error.startswith(f"error: no Kafka broker answered at {address}")
    assert "kafka up" not in error and "check STREAMSCORE_BOOTSTRAP_SERVERS" in error


def test_config_piped_keeps_whole_names_and_shows_the_address_in_use(streamscore):
    local = streamscore("config", env={"STREAMSCORE_BOOTSTRAP_SERVERS": None})
    assert local.code == 0
    assert "STREAMSCORE_LOCAL_KAFKA_CONTROLLER_PORT" in local.out
    row = next(line for line in local.out.splitlines() if "STREAMSCORE_BOOTSTRAP_SERVERS" in line)
    assert "127.0.0.1:9092" in row and "None" not in row
    shown = orjson.loads(streamscore("config", "--json", env={"STREAMSCORE_PARTITIONS": "8"}).out)
    assert shown["STREAMSCORE_PARTITIONS"] == {
        "value": 8, "source": "set", "meaning": shown["STREAMSCORE_PARTITIONS"]["meaning"]
    }  # fmt: skip
    assert shown["STREAMSCORE_SASL_PASSWORD"]["value"] is None
    secret = streamscore("config", "--json", env={"STREAMSCORE_SASL_PASSWORD": "hunter2"})
    assert "hunter2" not in secret.out


def test_models_list_json_and_predict_into_new_folders(streamscore, base_env, tmp_path):
    train_model(base_env["STREAMSCORE_REGISTRY_PATH"])
    listed = orjson.loads(streamscore("models", "list", "--json").out)
    assert [(m["model"], m["version"], m["current"]) for m in listed] == [("m", "1", True)]
    assert set(listed[0]["metrics"]) == {"accuracy", "balanced_accuracy", "roc_auc", "log_loss"}
    data = tmp_path / "rows.csv"
    frame(20, seed=3).drop(columns=["label"]).to_csv(data, index=False)
    out = tmp_path / "out" / "deeper" / "scores.csv"
    done = streamscore("predict", data, "--model", "m", "--out", out)
    assert done.code == 0, done.err
    assert done.out.strip() == str(out) and len(pd.read_csv(out)) == 20
    summary = orjson.loads(streamscore("predict", data, "-m", "m", "-o", out, "--json").out)
    assert summary == {"out": str(out), "rows": 20, "model": "m", "version": "1"}


def test_replay_refuses_an_hours_long_real_time_run_before_connecting(streamscore, tmp_path):
    hourly = tmp_path / "hourly.csv"
    ts = pd.date_range("2025-01-01", periods=200, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"id": range(200), "ts": ts, "x": 1.0, "label": 0}).to_csv(hourly, index=False)
    refused = streamscore("replay", hourly)
    assert refused.code == 1
    line = refused.err.strip().splitlines()[-1]
    assert line.startswith("error: at the pace of its timestamps this replay would take 8 d 7 h")
    assert "--speed 2000 takes" in line and "--realtime" in line
    both = streamscore("replay", hourly, "--realtime", "--max")
    assert both.error_line == "error: give one of --realtime, --speed, --rate and --max"
    no_ts = tmp_path / "plain.csv"
    pd.DataFrame({"x": [1.0]}).to_csv(no_ts, index=False)
    assert "needs a timestamp column" in streamscore("replay", no_ts, "--realtime").error_line


def test_tail_and_status_fail_in_one_line_without_a_broker(streamscore, base_env):
    address = base_env["STREAMSCORE_BOOTSTRAP_SERVERS"]
    for command in (["tail", "predictions"], ["status"], ["status", "--json"]):
        result = streamscore(*command)
        assert result.code == 1
        assert f"no Kafka broker answered at {address}" in result.error_line
    both = streamscore("tail", "drift", "-n", "3", "--from-beginning")
    assert both.error_line == "error: give -n N (the last N records) or --from-beginning, not both"


def test_train_synth_and_promote_report_json(streamscore, tmp_path):
    data = tmp_path / "train.csv"
    frame(300).to_csv(data, index=False)
    trained = orjson.loads(streamscore("train", data, "-t", "label", "--id-col", "id",
                                       "-m", "t", "--json").out)  # fmt: skip
    assert (trained["model"], trained["version"], trained["current"]) == ("t", "1", True)
    assert trained["path"] == str(tmp_path / "registry" / "t" / "1")
    assert 0.5 < trained["metrics"]["accuracy"] <= 1
    promoted = orjson.loads(streamscore("models", "promote", "t", "1", "--local", "--json").out)
    assert promoted == {"model": "t", "version": "1", "previous": "1", "published": False}
    out = tmp_path / "sea.csv"
    synth = orjson.loads(streamscore("synth", "sea", "--n", "10", "--out", out, "--json").out)
    assert synth == {"out": str(out), "drift": f"{out}.drift.json", "rows": 10, "drift_at": 5}
