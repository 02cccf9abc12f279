"""algorithm.generation (hf or vLLM): validation before torch loads, the dry run's server and training commands,
the GRPOConfig fields TRL receives, and the supervision of the vLLM server process (a real stand-in HTTP server:
no GPU or vLLM here, so only fai-rl's own start / wait-for-/health / stop logic is exercised)."""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import make_run, run_cli

from fai_rl import algorithms
from fai_rl.errors import ConfigError, RunFailed
from fai_rl.launch import generation_server
from fai_rl.launch.commands import free_port
from fai_rl.models.tiny import tiny_model_path

VLLM = ["algorithm=grpo", "algorithm.generation.backend=vllm"]


def server_run(tmp_path, *extra):
    return ["algorithm=grpo", "hardware=gpu8_vllm_server", *VLLM[1:], "algorithm.generation.vllm_mode=server",
            f"model.base_model_name={tiny_model_path()}", "training.per_device_train_batch_size=8", *extra]


def stand_in(tmp_path, argv: list, timeout_s: float = 30, port: int = None):
    """GRPO's vLLM server for a server-mode run, its command replaced by a stand-in that needs no GPU."""
    port = port or free_port()
    server = algorithms.load("grpo").generation_server(make_run(server_run(tmp_path), tmp_path))
    return dataclasses.replace(server, argv=argv, url=f"http://127.0.0.1:{port}", port=port, timeout_s=timeout_s)


def test_vllm_on_a_cpu_preset_is_one_line_and_exit_2(tmp_path):
    proc = run_cli(*VLLM, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'algorithm.generation.backend=vllm' needs CUDA GPUs" in lines[0], proc.stderr
    assert "hardware 'cpu'" in lines[0]


@pytest.mark.parametrize("overrides,message", [
    (["hardware=gpu8_zero2", "algorithm.generation.tensor_parallel_size=3"],
     "'algorithm.generation.tensor_parallel_size' (3) must divide the training processes per node (8"),
    (["hardware=gpu", "algorithm.generation.gpu_memory_utilization=1.0"],
     "'algorithm.generation.gpu_memory_utilization' must be in (0, 1)"),
    (["hardware=gpu", "algorithm.generation.gpu_memory_utilization=0"],
     "'algorithm.generation.gpu_memory_utilization' must be in (0, 1)"),
    (["hardware=gpu8_zero2", "algorithm.generation.vllm_mode=server"], "set hardware.vllm_gpus (1..7"),
    (["hardware=gpu8_zero2", "hardware.vllm_gpus=1", "algorithm.generation.vllm_mode=server",
      "model.base_model_name=builtin:tiny"], "the vLLM server loads the model itself"),
    (["hardware=gpu8_zero2", "hardware.vllm_gpus=8", "algorithm.generation.vllm_mode=server"],
     "'hardware.vllm_gpus' (8) must leave a GPU to train"),
    (["hardware=gpu8_zero2", "hardware.vllm_gpus=2", "algorithm.generation.vllm_mode=colocate"],
     "'hardware.vllm_gpus' (2) reserves GPUs for a vLLM server"),
])
def test_bad_generation_settings_name_the_key(overrides, message, tmp_path):
    with pytest.raises(ConfigError) as err:
        make_run(VLLM + overrides, tmp_path)
    assert message in str(err.value)


@pytest.mark.parametrize("extra,message", [
    (["algorithm.generation.tensor_parallel_size=2"], "must equal hardware.vllm_gpus (1) in server mode"),
    (["algorithm.generation.sleep_mode=true"], "'algorithm.generation.sleep_mode'"),
    (["algorithm.generation.server_timeout_s=0"], "'algorithm.generation.server_timeout_s' must be > 0"),
])
def test_bad_server_settings_name_the_key(extra, message, tmp_path):
    with pytest.raises(ConfigError) as err:
        make_run(server_run(tmp_path, *extra), tmp_path)
    assert message in str(err.value)


@pytest.mark.parametrize("overrides,message", [
    (["algorithm=gspo", "algorithm.generation.batch_size=16"], "and 'algorithm.steps_per_generation' both set"),
    (["algorithm=grpo", "training.per_device_train_batch_size=8", "algorithm.generation.batch_size=12"],
     "'algorithm.generation.batch_size' (12) must be divisible by the training batch of all processes"),
    (["algorithm=grpo", "training.per_device_train_batch_size=4", "algorithm.generation.batch_size=12"],
     "'algorithm.generation.batch_size' (12) must be divisible by algorithm.num_generations (8)"),
])
def test_bad_generation_batch_names_the_key(overrides, message, tmp_path):
    with pytest.raises(ConfigError) as err:
        make_run(overrides, tmp_path)
    assert message in str(err.value)


def test_dry_run_prints_the_server_and_the_training_command(tmp_path):
    proc = run_cli(*server_run(tmp_path), "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path,
                   env={"CUDA_VISIBLE_DEVICES": "2,3,4,5,6,7,8,9"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    (serve,) = [line for line in lines if " vllm-serve " in line]
    (train,) = [line for line in lines if " launch " in line]
    assert serve.startswith("CUDA_VISIBLE_DEVICES=9 ")  # the preset's reserved GPU: the last one of the node
    max_length = make_run(server_run(tmp_path), tmp_path).data.max_length
    for arg in (f"--model {tiny_model_path()}", "--tensor_parallel_size 1", "--gpu_memory_utilization 0.9",
                "--port 8000", "--host 127.0.0.1", f"--max_model_len {max_length}"):
        assert arg in serve, serve
    assert "CUDA_VISIBLE_DEVICES=2,3,4,5,6,7,8 " in train and "--num_processes 7" in train, train
    assert lines.index(serve) < lines.index(train)
    assert "1 node(s) x 8 process(es) (7 train, 1 serve vLLM) on cuda" in proc.stdout
    assert "effective batch 56 = 8 per device x 1 accumulation x 7 processes" in proc.stdout
    assert json.loads((tmp_path / "run" / "deepspeed.json").read_text())["train_batch_size"] == 56


def grpo_config(run):
    """The GRPOConfig the pipeline builds for `run` (its GPU precision and DeepSpeed file left out: none here)."""
    from trl import GRPOConfig

    from fai_rl.algorithms.grpo import grpo_config_args
    from fai_rl.training.arguments import common_args

    run.training.bf16, run.hardware.zero_stage = False, 0
    return GRPOConfig(**common_args(run), **grpo_config_args(run, [1.0]))


def test_trl_receives_the_colocate_settings(tmp_path):
    run = make_run(VLLM + ["hardware=gpu", "training.per_device_train_batch_size=8",
                           "algorithm.generation.gpu_memory_utilization=0.45", "algorithm.generation.sleep_mode=true",
                           "algorithm.generation.importance_sampling_correction=false",
                           "algorithm.generation.batch_size=32"], tmp_path)
    config = grpo_config(run)
    assert (config.use_vllm, config.vllm_mode, config.vllm_gpu_memory_utilization) == (True, "colocate", 0.45)
    assert (config.vllm_tensor_parallel_size, config.vllm_enable_sleep_mode) == (1, True)
    assert config.vllm_importance_sampling_correction is False
    assert (config.generation_batch_size, config.steps_per_generation) == (32, 4)  # TRL derives the steps
    assert config.vllm_max_model_length == run.data.max_length


def test_trl_receives_the_server_settings(tmp_path):
    run = make_run(server_run(tmp_path, "algorithm.generation.server_port=8123"), tmp_path)
    config = grpo_config(run)
    assert (config.use_vllm, config.vllm_mode) == (True, "server")
    assert (config.vllm_server_host, config.vllm_server_port, config.vllm_server_timeout) == ("127.0.0.1", 8123, 240)
    assert config.vllm_importance_sampling_correction is True


def test_hf_backend_sets_no_vllm_field(tmp_path):
    config = grpo_config(make_run(["algorithm=grpo"], tmp_path))
    assert config.use_vllm is False and config.generation_batch_size == config.per_device_train_batch_size * 1
    assert config.use_transformers_continuous_batching is False


def test_continuous_batching_reaches_trl_on_cuda_and_is_refused_on_cpu(tmp_path):
    config = grpo_config(make_run(["algorithm=grpo", "hardware=gpu", "algorithm.generation.backend=hf_continuous"],
                                  tmp_path))
    assert config.use_transformers_continuous_batching is True and config.use_vllm is False
    with pytest.raises(ConfigError, match=r"'algorithm.generation.backend=hf_continuous' needs CUDA GPUs .*backend=hf"):
        make_run(["algorithm=grpo", "algorithm.generation.backend=hf_continuous"], tmp_path)


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_server_is_waited_for_and_stopped_with_the_block(tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "health").write_text("ok")
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path / "www")]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(KeyError):  # the job fails: the server still goes
        with generation_server.serving(stand_in(tmp_path, argv, port=port), os.environ, tmp_path / "server.log") as proc:
            assert generation_server.healthy(url)
            raise KeyError("training failed")
    assert gone(proc.pid) and not generation_server.healthy(url)


def test_server_that_never_answers_fails_after_the_timeout_and_is_stopped(tmp_path):
    marker = f"loading weights {tmp_path.name}"  # unique: finds this test's stand-in among the machine's processes
    argv = [sys.executable, "-c", f"import time; print('{marker}', flush=True); time.sleep(120)"]
    with pytest.raises(RunFailed) as err:
        with generation_server.serving(stand_in(tmp_path, argv, timeout_s=1.5), os.environ, tmp_path / "server.log"):
            pytest.fail("the block must not run without a healthy server")
    assert "did not answer" in str(err.value) and "algorithm.generation.server_timeout_s" in str(err.value)
    assert str(tmp_path / "server.log") in str(err.value)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps


def test_server_that_exits_early_is_reported_with_its_last_line(tmp_path):
    argv = [sys.executable, "-c", "import sys; print('CUDA out of memory'); sys.exit(3)"]
    with pytest.raises(RunFailed) as err:
        with generation_server.serving(stand_in(tmp_path, argv, timeout_s=60), os.environ, tmp_path / "server.log"):
            pass
    assert "exited with code 3" in str(err.value) and "CUDA out of memory" in str(err.value)


def test_a_taken_port_is_refused_before_the_server_starts(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(ConfigError) as err:
            generation_server.check_port_free(stand_in(tmp_path, [], port=sock.getsockname()[1]))
    assert "'algorithm.generation.server_port'" in str(err.value)


@pytest.mark.slow
def test_the_vllm_extra_resolves_with_the_project_pins(vllm_extra_resolution):
    """pip's resolver (nothing installed) finds one set of packages for fai-rl's pins plus its vllm extra (started
    in the background when the session starts: it waits on the package registry, not on the CPU)."""
    wanted, proc, folder = vllm_extra_resolution
    try:
        proc.wait(timeout=1500)
    except subprocess.TimeoutExpired:
        pytest.skip("pip's resolver did not finish in 25 minutes (a slow or unreachable package registry)")
    stderr = (folder / "stderr.txt").read_text()
    if proc.returncode != 0 and any(s in stderr for s in ("NewConnectionError", "Could not fetch URL")):
        pytest.skip(f"the package registry is unreachable: {stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, stderr[-3000:]
    chosen = {p["metadata"]["name"].lower().replace("_", "-"): p["metadata"]["version"].split("+")[0]
              for p in json.loads((folder / "report.json").read_text())["install"]}
    for requirement in wanted:  # every exact pin is what the resolver chose
        if "==" in requirement:
            name, version = requirement.split("==")
            assert chosen[name.strip().lower().replace("_", "-")] == version.strip(), requirement
