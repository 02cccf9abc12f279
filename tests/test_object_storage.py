"""Runs that leave the machine: complete checkpoints and the final model uploaded to an S3-compatible server
(moto, started here on localhost) through the real clients; resume on a fresh machine from the bucket; datasets
and models read from s3://; clear errors for a wrong endpoint or a missing bucket."""
from __future__ import annotations

import json
import shutil

import boto3
import pytest
import yaml
from conftest import REPO, run_cli
from services import S3_ENV, s3_server

pytestmark = pytest.mark.slow
BUCKET = "fai-rl-test"
RUN = ["training.save_steps=10", "training.save_total_limit=2", "training.save_only_model=false",
       "training.logging_steps=5", "data.eval_datasets=[]", "training.progress_bar=false"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s3")
    with s3_server(folder) as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client


def keys(client, prefix: str) -> set:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"][len(prefix):] for page in pages for item in page.get("Contents", [])}


def cli(*args, cwd, extra_env=None):
    return run_cli(*args, cwd=cwd, env={**S3_ENV, **(extra_env or {})})


def upload_args(endpoint: str, prefix: str) -> list:
    return [f"upload.url=s3://{BUCKET}/{prefix}", f"upload.endpoint_url={endpoint}"]


def test_checkpoints_and_final_model_upload_and_a_fresh_machine_resumes(store, tmp_path):
    endpoint, client = store
    out = tmp_path / "models" / "long-run"
    first = cli(*RUN, "training.max_steps=30", f"training.output_dir={out}", f"hydra.run.dir={tmp_path}/run1",
                *upload_args(endpoint, "runs"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    remote = keys(client, "runs/long-run/")
    assert {"checkpoint-20/fai_rl_complete.json", "checkpoint-30/fai_rl_complete.json", "model.safetensors",
            "README.md", "config.json"} <= remote
    assert not any(k.startswith("checkpoint-10/") for k in remote)  # save_total_limit=2 applies remotely too
    summary = json.loads((tmp_path / "run1" / "summary.json").read_text())
    assert summary["upload"]["failed"] == [] and "checkpoint-30" in summary["upload"]["uploaded"]

    local_copy = tmp_path / "local-copy"
    shutil.copytree(out, local_copy)
    shutil.rmtree(out)  # the machine is gone; the bucket holds the run
    resumed = cli(*RUN, "training.max_steps=50", f"training.output_dir={out}", f"hydra.run.dir={tmp_path}/run2",
                  "training.resume=auto", *upload_args(endpoint, "runs"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "fetched from" in resumed.stdout
    remote_summary = json.loads((tmp_path / "run2" / "summary.json").read_text())
    assert remote_summary["steps"] == 50 and remote_summary["resumed_from"].endswith("checkpoint-30")

    local = cli(*RUN, "training.max_steps=50", f"training.output_dir={local_copy}", "training.resume=auto",
                f"hydra.run.dir={tmp_path}/run3", cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    local_summary = json.loads((tmp_path / "run3" / "summary.json").read_text())
    assert remote_summary["final_metrics"]["loss"] == local_summary["final_metrics"]["loss"]  # same as a local resume


def test_a_checkpoint_without_its_marker_is_never_resumed_from(store, tmp_path):
    endpoint, client = store
    out = tmp_path / "models" / "cut-run"
    first = cli(*RUN, "training.max_steps=20", f"training.output_dir={out}", f"hydra.run.dir={tmp_path}/run1",
                *upload_args(endpoint, "cut"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    for key in keys(client, "cut/cut-run/checkpoint-20/"):  # as if the upload of checkpoint-40 was cut off
        if not key.endswith("fai_rl_complete.json"):
            client.copy_object(Bucket=BUCKET, Key=f"cut/cut-run/checkpoint-40/{key}",
                               CopySource={"Bucket": BUCKET, "Key": f"cut/cut-run/checkpoint-20/{key}"})
    shutil.rmtree(out)
    resumed = cli(*RUN, "training.max_steps=30", f"training.output_dir={out}", f"hydra.run.dir={tmp_path}/run2",
                  "training.resume=auto", *upload_args(endpoint, "cut"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((tmp_path / "run2" / "summary.json").read_text())["resumed_from"].endswith("checkpoint-20")


def test_dataset_and_model_read_from_s3(store, tmp_path):
    endpoint, client = store
    rows = (REPO / "fai_rl/data/bundled/tiny_prefs/train.jsonl").read_text().splitlines()[:64]
    client.put_object(Bucket=BUCKET, Key="data/pairs.jsonl", Body="\n".join(rows).encode())
    from fai_rl.models.tiny import tiny_model_path

    for file in tiny_model_path().iterdir():
        client.upload_file(str(file), BUCKET, f"models/tiny/{file.name}")
    cache = {"FAI_RL_CACHE": str(tmp_path / "cache")}  # a fresh cache: the copies are downloaded here
    proc = cli(f"data.datasets=[{{name: s3://{BUCKET}/data/pairs.jsonl, s3_endpoint_url: {endpoint}}}]",
               f"model.base_model_name=s3://{BUCKET}/models/tiny/", f"model.s3_endpoint_url={endpoint}",
               "training.max_steps=3", "data.eval_datasets=[]", "training.progress_bar=false",
               f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model", cwd=tmp_path,
               extra_env=cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    copies = list((tmp_path / "cache" / "object-storage").glob("*/*"))
    assert {c.name for c in copies} == {"pairs.jsonl", "tiny"}
    assert not list((tmp_path / "cache" / "object-storage").glob("*/.download-*"))  # no partial download left


@pytest.mark.parametrize("where,expected", [("endpoint", "cannot be reached (endpoint http://127.0.0.1:"),
                                           ("bucket", "bucket 'no-such-bucket' does not exist")])
def test_wrong_endpoint_or_missing_bucket_fails_before_training(store, where, expected, tmp_path):
    endpoint, _ = store
    url, end = (f"s3://{BUCKET}/x", "http://127.0.0.1:9") if where == "endpoint" else ("s3://no-such-bucket/x", endpoint)
    proc = cli("training.max_steps=3", f"upload.url={url}", f"upload.endpoint_url={end}", "upload.retries=0",
               f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("fai-rl: error:")]
    assert len(lines) == 1 and "'upload.url'" in lines[0] and expected in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_fai_rl_recipe_s3_section_uploads(store, tmp_path):
    endpoint, client = store
    recipe = yaml.safe_load((REPO / "examples" / "seed_recipes" / "dpo_tiny.yaml").read_text())
    recipe["training"].update(output_dir=str(tmp_path / "models" / "recipe-run"), save_steps=2)
    recipe["s3"] = {"enabled": True, "bucket": BUCKET, "prefix": "fai-rl", "region": "us-east-1",
                    "endpoint_url": endpoint, "upload_checkpoints": True, "upload_final_model": True,
                    "delete_local_after_upload": True}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.seed", "--config", str(path), "--num-gpus", "1",
                           "--hardware", "cpu", "training.max_steps=4", "training.progress_bar=false",
                           f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **S3_ENV, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    remote = keys(client, "fai-rl/recipe-run/")
    assert "checkpoint-4/fai_rl_complete.json" in remote and "model.safetensors" in remote
    assert not (tmp_path / "models" / "recipe-run" / "checkpoint-4").exists()  # deleted once verified remotely


@pytest.mark.parametrize("required", [False, True])
def test_a_failed_upload_is_reported_and_fails_the_run_only_when_required(required, tmp_path):
    """The store answers at the start but refuses the files: a file stands where the run's folder should be."""
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "blocked-run").write_text("not a folder")
    proc = run_cli(*RUN, "training.max_steps=10", f"training.output_dir={tmp_path}/models/blocked-run",
                   f"upload.url=file://{tmp_path}/store", "upload.retries=1", f"upload.required={str(required).lower()}",
                   f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert {f["what"] for f in summary["upload"]["failed"]} == {"checkpoint checkpoint-10", "final model blocked-run"}
    assert all("store/blocked-run" in f["error"] for f in summary["upload"]["failed"])
    assert (tmp_path / "models" / "blocked-run" / "model.safetensors").exists()  # training itself completed
    if required:
        assert proc.returncode == 1 and "upload(s) to" in proc.stderr and "upload.required=true" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "upload of checkpoint" in proc.stderr + (tmp_path / "run").joinpath("fai-rl.log").read_text()


def test_file_url_upload_lands_where_it_points(tmp_path):
    proc = run_cli(*RUN, "training.max_steps=10", f"training.output_dir={tmp_path}/models/here",
                   f"upload.url=file://{tmp_path}/store", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "store" / "here" / "checkpoint-10" / "fai_rl_complete.json").exists()
    assert (tmp_path / "store" / "here" / "model.safetensors").exists()
