"""Trackers that cannot be reached never stall or kill training (issue 28): the launch check against real servers
on localhost (down, answering 500, stalled), a tracker that stalls in the middle of a run, and a password in the
MLflow URI that reaches no file under the run, model and log folders."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_run, run_cli
from services import free_port, mlflow_server

from fai_rl.config.resolved import SECRET_FIELDS_ENV, load_run, secret_fields, write_resolved_config
from fai_rl.config.secrets import REDACTED, redact, scrub_files, secret_values, split_credentials
from fai_rl.errors import ConfigError
from fai_rl.launch.tracker_check import check_trackers

PASSWORD = "Pl4nted-s3cret"


@contextmanager
def http_server(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Answers500(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(500, "broken")

    def log_message(self, *args):
        pass


@contextmanager
def stalled_server():
    """Accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def refused(run, match: str) -> str:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=match) as err:
        check_trackers(run)
    assert time.monotonic() - started < 15
    return str(err.value)


@pytest.mark.slow
def test_an_mlflow_server_down_failing_or_stalled_is_refused_within_seconds(tmp_path):
    closed = f"http://alice:{PASSWORD}@127.0.0.1:{free_port()}"
    message = refused(make_run([f"tracking.mlflow_tracking_uri={closed}"], tmp_path), "cannot be reached")
    assert "tracking.mlflow_tracking_uri=null" in message and PASSWORD not in redact(message)
    with http_server(Answers500) as url:
        refused(make_run([f"tracking.mlflow_tracking_uri={url}"], tmp_path), "answered HTTP 500")
    with stalled_server() as url:
        refused(make_run([f"tracking.mlflow_tracking_uri={url}"], tmp_path), "did not answer within")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    refused(make_run([f"tracking.mlflow_tracking_uri=file://{blocked}/mlruns"], tmp_path), "cannot be written")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "tensorboard").write_text("")
    refused(make_run(["tracking.tensorboard=true"], tmp_path), "tracking.tensorboard=false")


def test_wandb_online_without_a_route_is_refused_and_offline_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("WANDB_MODE", "online")
    run = make_run(["wandb.enabled=true"], tmp_path)
    message = refused(run, "wandb.enabled")
    assert "WANDB_MODE=offline" in message and "wandb sync" in message
    monkeypatch.setenv("WANDB_MODE", "offline")
    check_trackers(run)


@pytest.mark.parametrize("overrides, env, names", [
    ([f"tracking.mlflow_tracking_uri=http://alice:{PASSWORD}@127.0.0.1:{{port}}"], {}, "tracking.mlflow_tracking_uri"),
    (["wandb.enabled=true"], {"WANDB_MODE": "online", "WANDB_API_KEY": "dummy-key-0123456789",
                              "WANDB_BASE_URL": "http://127.0.0.1:{port}"}, "WANDB_MODE=offline"),
])
def test_the_cli_ends_in_one_line_exit_2(overrides, env, names, tmp_path):
    port = free_port()
    started = time.monotonic()
    proc = run_cli("training.max_steps=5", *[o.format(port=port) for o in overrides],
                   f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model", cwd=tmp_path,
                   env={k: v.format(port=port) for k, v in env.items()})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert time.monotonic() - started < 60  # the check itself takes milliseconds against a closed port
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and names in errors[0] and "Traceback" not in proc.stderr, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert not list((tmp_path / "model").glob("*"))  # nothing trained


def test_url_passwords_are_secrets_masked_everywhere(tmp_path, monkeypatch):
    uri = f"http://alice:{PASSWORD}@127.0.0.1:5000/path"
    assert redact({"tracking": {"mlflow_tracking_uri": uri}})["tracking"]["mlflow_tracking_uri"] == \
        f"http://alice:{REDACTED}@127.0.0.1:5000/path"
    assert secret_values({"upload": {"endpoint_url": uri}, "list": [f"see {uri}"]}) == [PASSWORD, PASSWORD]
    assert split_credentials(uri) == ("http://127.0.0.1:5000/path", "alice", PASSWORD)
    record = tmp_path / "overrides.yaml"
    record.write_text(f"- tracking.mlflow_tracking_uri={uri}\n- other={PASSWORD}\n- short=http://bob:pw@host\n")
    scrub_files([record], secret_values(uri))
    assert PASSWORD not in record.read_text() and "http://bob:<redacted>@host" in record.read_text()
    # the run itself keeps the password: launched ranks get it through their environment, not config.yaml
    run = make_run([f"tracking.mlflow_tracking_uri={uri}", "wandb.api_key=key-abcdef"], tmp_path)
    written = write_resolved_config(run)
    assert PASSWORD not in written.read_text() and "key-abcdef" not in written.read_text()
    monkeypatch.setenv(SECRET_FIELDS_ENV, secret_fields(run)[SECRET_FIELDS_ENV])
    loaded = load_run(str(written.parent))
    assert loaded.tracking.mlflow_tracking_uri == uri and loaded.wandb.api_key == "key-abcdef"


class StallAfterMetrics(BaseHTTPRequestHandler):
    """A proxy to a real MLflow server that stops answering after it has passed on `passed` metric logs."""

    protocol_version = "HTTP/1.1"
    upstream, passed, release = "", 2, threading.Event()
    metric_logs = 0

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if b'"metrics": [{' in body or b'"metrics":[{' in body:
            type(self).metric_logs += 1
            if type(self).metric_logs > self.passed:
                self.release.wait(120)  # stalled: the client times out
                self.close_connection = True
                return
        request = urllib.request.Request(self.upstream + self.path, data=body or None, method=self.command,
                                         headers={"Content-Type": self.headers.get("Content-Type", "")})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, data = answer.status, answer.read()
        except urllib.error.HTTPError as err:
            status, data = err.code, err.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.mark.slow
def test_a_password_in_the_mlflow_uri_reaches_no_file(mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    uri = mlflow_uri.replace("http://", f"http://alice:{PASSWORD}@")
    proc = run_cli("training.max_steps=3", "training.logging_steps=1", "training.progress_bar=false",
                   f"tracking.mlflow_tracking_uri={uri}", "tracking.mlflow_experiment=planted", "wandb.enabled=true",
                   "tracking.tensorboard=true", "wandb.api_key=Pl4nted-key", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path, env={"WANDB_MODE": "offline"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert PASSWORD not in proc.stdout + proc.stderr
    files = [p for folder in ("run", "model", "logs") for p in (tmp_path / folder).rglob("*") if p.is_file()]
    assert len(files) > 20 and any(p.suffix == ".wandb" for p in files)
    assert [p for p in files if PASSWORD.encode() in p.read_bytes() or b"Pl4nted-key" in p.read_bytes()] == []
    client = MlflowClient(mlflow_uri)
    (found,) = client.search_runs([client.get_experiment_by_name("planted").experiment_id])
    assert found.info.status == "FINISHED" and "loss" in found.data.metrics  # the run used the URI all the same
    assert PASSWORD not in json.dumps(found.data.params)


@pytest.mark.slow
def test_a_tracker_that_stalls_mid_run_does_not_stop_training(mlflow_uri, tmp_path):
    StallAfterMetrics.upstream = mlflow_uri
    with http_server(StallAfterMetrics) as proxy:
        proc = run_cli("training.max_steps=6", "training.logging_steps=1", "training.progress_bar=false",
                       "data.eval_datasets=[]", f"tracking.mlflow_tracking_uri={proxy}",
                       "tracking.mlflow_experiment=stalled", f"hydra.run.dir={tmp_path}/run",
                       f"training.output_dir={tmp_path}/model", cwd=tmp_path)
        StallAfterMetrics.release.set()
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["trackers_missed"]["MLflow"] >= 1
    steps = [json.loads(line)["step"] for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert set(range(1, 7)) <= set(steps)  # every step's metrics, whatever MLflow got
    output = proc.stdout + proc.stderr
    assert output.count("MLflow (tracking.mlflow_tracking_uri) has not answered") + \
        output.count("MLflow (tracking.mlflow_tracking_uri) failed") == 1, output[-3000:]
    assert (tmp_path / "model" / "config.json").exists()
