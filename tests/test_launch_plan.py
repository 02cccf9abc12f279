"""The launch plan without training: DeepSpeed config, launcher arguments per node, rendezvous, dry runs, SLURM."""
from __future__ import annotations

import json

import pytest
from conftest import REPO, make_run, run_cli

from fai_rl.config.derived import check_batch_fits
from fai_rl.errors import ConfigError
from fai_rl.launch import commands
from fai_rl.launch import deepspeed as deepspeed_config
from fai_rl.training.arguments import distributed_args
from fai_rl.training.watchdog_reports import stuck_message


def _dry_run(tmp_path, *args, env=None):
    proc = run_cli(*args, "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (tmp_path / "model").exists() and not (tmp_path / "run" / "summary.json").exists()
    return proc.stdout


def _printed_json(out: str) -> dict:
    return json.loads(out[out.index("\n{") + 1:])


def test_dry_run_gpu8_zero3_offload(tmp_path):
    out = _dry_run(tmp_path, "hardware=gpu8_zero3_offload", "training.per_device_train_batch_size=2",
                   "training.gradient_accumulation_steps=4")
    launch = [line for line in out.splitlines() if " launch " in line]
    assert len(launch) == 1
    for arg in ("--use_deepspeed", f"--deepspeed_config_file {tmp_path}/run/deepspeed.json", "--num_processes 8",
                "--num_machines 1", "--mixed_precision bf16", f"-m fai_rl.training.worker {tmp_path}/run",
                "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True "):
        assert arg in launch[0], launch[0]
    assert "effective batch 64 = 2 per device x 4 accumulation x 8 processes" in out
    ds = _printed_json(out)
    assert ds == json.loads((tmp_path / "run" / "deepspeed.json").read_text())
    zero = ds["zero_optimization"]
    assert zero["stage"] == 3 and zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert zero["stage3_max_live_parameters"] == zero["stage3_max_reuse_distance"] == int(1e9)  # the fast default
    assert zero["offload_optimizer"]["device"] == "cpu" and zero["offload_param"]["device"] == "cpu"
    assert ds["optimizer"]["type"] == "AdamW" and ds["bf16"]["enabled"] is True
    batch = (ds["train_batch_size"], ds["train_micro_batch_size_per_gpu"], ds["gradient_accumulation_steps"])
    assert batch == (64, 2, 4)


def test_dry_run_multinode_prints_one_command_per_node(tmp_path):
    out = _dry_run(tmp_path, "hardware=multinode", env={"MASTER_ADDR": "node-a", "MASTER_PORT": "12345"})
    launch = [line for line in out.splitlines() if " launch " in line]
    assert len(launch) == 2
    for rank, line in enumerate(launch):
        for arg in ("--num_processes 16", "--num_machines 2", f"--machine_rank {rank}", "--main_process_ip node-a",
                    "--main_process_port 12345", "--deepspeed_multinode_launcher standard", "--use_deepspeed"):
            assert arg in line, line
    assert _printed_json(out)["zero_optimization"]["stage"] == 3
    assert "SLURM" in out


def test_multinode_rendezvous_from_slurm(tmp_path):
    env = {"SLURM_JOB_NODELIST": "gpu[07-08]", "SLURM_NODEID": "1", "SLURM_JOB_NUM_NODES": "2"}
    out = _dry_run(tmp_path, "hardware=multinode", env=env)
    assert out.count("--main_process_ip gpu07") == 2 and "# node 1 of 2 (this node)" in out


def test_slurm_node_count_must_match(tmp_path):
    proc = run_cli("hardware=multinode", "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                   env={"SLURM_JOB_NODELIST": "gpu[1-4]", "SLURM_JOB_NUM_NODES": "4"}, cwd=tmp_path)
    assert proc.returncode == 2 and "'hardware.num_nodes' is 2 but SLURM allocated 4" in proc.stderr


@pytest.mark.parametrize("nodelist,first", [("gpu[03-05,09],cpu1", "gpu03"), ("node7", "node7"),
                                            ("a-b[1-2]", "a-b1"), ("x1,x2", "x1")])
def test_first_slurm_host(nodelist, first):
    assert commands.first_slurm_host(nodelist) == first


def test_slurm_launcher_follows_the_hardware_group():
    from fai_rl.cli.compose import compose

    cfg = compose(["hydra/launcher=slurm", "hardware=multinode", "hardware.num_nodes=3"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.gpus_per_node, launcher.tasks_per_node) == (3, 8, 1)


@pytest.mark.parametrize("hardware,expected", [
    ("cpu", dict(use_cpu=True, ddp_backend=None, deepspeed=None)),
    ("cpu2_ddp", dict(use_cpu=True, ddp_backend="gloo", deepspeed=None)),
    ("cpu2_zero2", dict(use_cpu=False, ddp_backend="gloo", accelerator_config={"use_configured_state": True})),
    ("gpu8_zero2", dict(use_cpu=False, ddp_backend=None)),
])
def test_trainer_arguments_per_hardware(hardware, expected, tmp_path):
    args = distributed_args(make_run([f"hardware={hardware}"], tmp_path))
    assert {k: args.get(k) for k in expected} == expected
    assert (args["deepspeed"] is not None) == hardware.endswith("zero2")


def test_deepspeed_config_follows_training_section(tmp_path):
    run = make_run(["hardware=cpu2_zero2", "training.per_device_train_batch_size=3",
                    "training.gradient_accumulation_steps=5", "training.max_grad_norm=0.5"], tmp_path)
    ds = deepspeed_config.build(run)
    assert run.effective_batch_size == 30
    assert (ds["train_batch_size"], ds["train_micro_batch_size_per_gpu"], ds["gradient_accumulation_steps"],
            ds["gradient_clipping"]) == (30, 3, 5, 0.5)
    assert ds["zero_optimization"]["stage"] == 2 and "offload_optimizer" not in ds["zero_optimization"]
    assert ds["bf16"]["enabled"] is False and ds["fp16"]["enabled"] is False and "optimizer" not in ds


def test_launch_command_for_cpu_ddp(tmp_path):
    run = make_run(["hardware=cpu2_ddp"], tmp_path)
    argv = commands.launch_argv(run, commands.rendezvous(run))
    line = " ".join(argv)
    assert "--multi_gpu --num_processes 2" in line and "--use_deepspeed" not in line and "--cpu" not in argv
    assert argv[-3:] == ["-m", "fai_rl.training.worker", str(tmp_path / "run")]
    assert f"--tee 3 --log_dir {tmp_path / 'run' / 'ranks'}" in line  # each rank's output kept, also after kill -9


def _report(rank, waiting, where):
    return {"rank": rank, "watchdog_s": 30.0, "last_step": 7, "where": where, "waiting_in_collective": waiting}


def test_the_watchdog_names_the_ranks_not_waiting_in_a_collective(tmp_path):
    """The front process's line from the watchdog reports of the ranks (tests/test_multiprocess.py hangs one)."""
    mixed = stuck_message([_report(0, True, "all_gather (x.py:1)"), _report(1, False, "score (r.py:9)")], 3, tmp_path)
    assert "no training step completed in 30 s (training.watchdog_s) after step 7" in mixed
    assert "stuck: rank 1 at score (r.py:9); waiting for it in a collective: rank 0 at all_gather (x.py:1)" in mixed
    assert "no report from rank(s) 2" in mixed
    everyone = stuck_message([_report(0, True, "a (x.py:1)"), _report(1, True, "b (x.py:2)")], 2, tmp_path)
    assert "every rank waits in a collective (a communication hang?): rank 0 at a (x.py:1); rank 1 at b" in everyone


BAD_HARDWARE = [
    (["hardware.offload=optimizer"], "needs DeepSpeed ZeRO"),
    (["hardware=gpu8_zero2", "hardware.offload=optimizer_and_params"], "only ZeRO-3"),
    (["hardware=gpu8_zero3_offload", "training.optim=adafactor"], "training.optim"),
    (["hardware=multinode", "hardware.machine_rank=2"], "hardware.machine_rank"),
    (["hardware.num_processes=0"], "hardware.num_processes"),
    (["hardware=cpu2_zero3", "model.lora.enabled=true", "model.lora.merge_on_save=true"], "merge_on_save"),
    (["hardware=cpu2_zero2", "hardware.zero3_live_parameters=1000"], "hardware.zero3_live_parameters"),
    (["hardware=cpu2_zero3", "hardware.zero3_live_parameters=0"], "hardware.zero3_live_parameters"),
    (["hardware=gpu", "hardware.cuda_alloc_conf=expandable_segments"], "hardware.cuda_alloc_conf"),
]


def test_zero3_live_parameters_reach_the_deepspeed_config(tmp_path):
    out = _dry_run(tmp_path, "hardware=cpu2_zero3", "hardware.zero3_live_parameters=5000")
    zero = _printed_json(out)["zero_optimization"]
    assert zero["stage3_max_live_parameters"] == zero["stage3_max_reuse_distance"] == 5000


@pytest.mark.parametrize("overrides,text", BAD_HARDWARE, ids=[" ".join(o) for o, _ in BAD_HARDWARE])
def test_bad_hardware_combinations(overrides, text, tmp_path):
    with pytest.raises(ConfigError, match=text.replace(".", r"\.")):
        make_run(overrides, tmp_path)


def test_effective_batch_must_fit_the_data(tmp_path):
    run = make_run(["hardware=cpu2_ddp", "training.per_device_train_batch_size=16",
                    "training.gradient_accumulation_steps=4"], tmp_path)
    check_batch_fits(run, 128, 1)
    with pytest.raises(ConfigError, match="effective batch 128 = 16 per device x 4 accumulation x 2 processes"):
        check_batch_fits(run, 100, 1)


def test_dry_run_imports_no_torch(tmp_path):
    """The front process of a launch (and its dry run) imports no torch: it only writes files and starts workers."""
    import subprocess
    import sys

    code = ("import sys\nfrom fai_rl.cli.main import main\n"
            f"sys.argv = ['fai-rl', 'hardware=gpu8_zero3', 'hardware.dry_run=true', 'hydra.run.dir={tmp_path}/r']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('HEAVY', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True).stdout
    assert "HEAVY False" in out, out


def test_workers_read_back_the_validated_run(tmp_path):
    """Every rank rebuilds exactly the front process's RunConfig from <run_dir>/config.yaml."""
    from fai_rl.config.resolved import load_run, write_resolved_config

    run = make_run(["hardware=cpu2_zero3", "training.learning_rate=3e-4", "evaluation.max_new_tokens=17"], tmp_path)
    write_resolved_config(run)
    assert load_run(run.run_dir) == run
