"""The bad-input catalogue: every case runs the real CLI, which must exit non-zero with ONE line naming the
culprit and what would be valid. Cases marked light must fail before torch/transformers/trl are imported (they
answer in a fraction of a second; bench/ measures how fast)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

# Config cases: (args, expected texts); all light (the schema and the conf tree decide them).
CONFIG = [
    (["training.learnign_rate=1e-4"], ["training.learnign_rate", "did you mean 'learning_rate'"]),
    (["trainng.learning_rate=1e-4"], ["trainng", "did you mean 'training'"]),
    (["algorithm.bta=0.2"], ["algorithm.bta", "did you mean 'beta'"]),
    (["algorithm=dpoo"], ["unknown algorithm 'dpoo'", "dpo"]),
    (["model=qwen"], ["unknown model 'qwen'", "tiny"]),
    (["training.learning_rate=abc"], ["training.learning_rate", "must be a number"]),
    (["training.max_steps=ten"], ["training.max_steps", "integer"]),
    (["training.gradient_checkpointing=maybe"], ["training.gradient_checkpointing", "true/false"]),
    (["hardware.zero_stage=5"], ["hardware.zero_stage", "one of 0, 1, 2, 3"]),
    (["training.learning_rate=0"], ["training.learning_rate", "> 0"]),
    (["training.watchdog_s=-5"], ["training.watchdog_s", ">= 0"]),
    (["training.learning_rate=-1e-5"], ["training.learning_rate", "> 0"]),
    (["training.per_device_train_batch_size=0"], ["training.per_device_train_batch_size", "> 0"]),
    (["data.max_prompt_length=64", "data.max_length=64"], ["data.max_prompt_length", "data.max_length"]),
    (["training.bf16=true", "training.fp16=true"], ["training.bf16", "training.fp16"]),
    (["hardware=gpu", "model.load_in_8bit=true", "model.load_in_4bit=true"], ["load_in_8bit", "load_in_4bit"]),
    (["model.load_in_4bit=true"], ["load_in_4bit", "model.lora.enabled=true"]),
    (["model.load_in_4bit=true", "model.lora.enabled=true"], ["load_in_4bit", "CUDA"]),
    (["model.lora.enabled=true", "model.lora.r=0"], ["model.lora.r", "> 0"]),
    (["training.output_dir="], ["training.output_dir", "empty"]),
    (["algorithm.loss_type=sigmoidd"], ["algorithm.loss_type", "'sigmoid'"]),
    (["algorithm.loss_type=bco_pair", "algorithm.f_divergence_type=js_divergence"],
     ["'algorithm.f_divergence_type=js_divergence' works only with the losses", "has bco_pair"]),
    (["algorithm.sync_ref_model=true"], ["'algorithm.sync_ref_model' (TR-DPO)", "precompute_ref_log_probs=false"]),
    (["algorithm.loss_type=[sigmoid,bco_pair]", "algorithm.loss_weights=[1.0]"],
     ["'algorithm.loss_weights' has 1 weight(s) for 2 loss(es)", "sigmoid, bco_pair"]),
    (["algorithm=grpo", "algorithm.num_generations=3"],
     ["generation batch", "per_device_train_batch_size x training.gradient_accumulation_steps x processes",
      "16 x 1 x 1 = 16", "divisible by algorithm.num_generations (3)"]),
    (["algorithm=gspo", "algorithm.steps_per_generation=3", "training.per_device_train_batch_size=6"],
     ["algorithm.steps_per_generation", "6 x 3 x 1 = 18", "algorithm.num_generations (4)"]),
    (["algorithm=grpo", "algorithm.num_generations=1"], ["algorithm.num_generations", ">= 2"]),
    (["algorithm=gspo", "algorithm.group_size=1"], ["algorithm.group_size", ">= 2"]),
    (["algorithm=grpo", "algorithm.max_completion_length=48"],
     ["data.max_prompt_length + algorithm.max_completion_length = 32 + 48 = 80", "data.max_length (64)"]),
    (["algorithm=grpo", "algorithm.rewards=[mypkg.rewards.score]"],
     ["reward 'mypkg.rewards.score' (algorithm.rewards.0) cannot be imported", "No module named 'mypkg'"]),
    (["algorithm=grpo", "algorithm.rewards=[acuracy]"], ["unknown reward 'acuracy'", "accuracy"]),
    (["algorithm=grpo", "algorithm.loss_type=ppo"], ["algorithm.loss_type", "'dapo'"]),
    (["algorithm=gspo", "algorithm.importance_sampling_level=seq"], ["algorithm.importance_sampling_level", "'sequence'"]),
    (["algorithm=grpo", "algorithm.beta=-0.1"], ["algorithm.beta", ">= 0"]),
    (["algorithm=grpo", "data.prompt_template='{prompt'"], ["data.prompt_template", "not a valid template"]),
    (["algorithm=grpo", "tuned=null"], ["tuned=null", "~tuned"]),
    (["model.base_model_name="], ["model.base_model_name", "empty"]),
    (["training.learning_rate=[1e-4,"], ["cannot parse the command-line override"]),
    (["hardware=gpu8_zero3", "hardware.zero_stage=4"], ["hardware.zero_stage", "one of 0, 1, 2, 3"]),
    (["hardware=tpu"], ["unknown hardware 'tpu'", "cpu2_zero3"]),
    (["training.resume=auto"], ["training.resume", "save_only_model=false"]),
]


def _pairs(tmp, rows):
    path = tmp / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _malformed(tmp):
    path = tmp / "bad.jsonl"
    path.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", chosen\n')
    return path


def _not_utf8(tmp):
    path = tmp / "binary.jsonl"
    path.write_bytes(b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n\xff\xfe\x00\x01 not text\n')
    return path


def _empty(tmp):
    (tmp / "empty.jsonl").write_text("")
    return tmp / "empty.jsonl"


def _not_a_model(tmp):
    (tmp / "notamodel").mkdir()
    return tmp / "notamodel"


def _finished_model(tmp):
    out = tmp / "done"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_text("x")
    return out


def _under_a_file(tmp):
    (tmp / "afile").write_text("not a folder")
    return tmp / "afile" / "model"


def _short_reward(tmp):
    (tmp / "my_rewards.py").write_text("def short(completions, **kwargs):\n    return [1.0]\n")
    return "my_rewards.short"


NO_EVAL = "data.eval_datasets=[]"
# Data, model, output, reward and hardware cases: (id, setup, args using {x} = setup's result, expected, light).
HEAVY = [
    ("missing-data-file", None, ["data.datasets=[{{name: {tmp}/nope.jsonl}}]", NO_EVAL],
     ["nope.jsonl does not exist"], True),
    ("malformed-jsonl", _malformed, ["data.datasets=[{{name: {x}}}]", NO_EVAL], ["bad.jsonl: line 2"], False),
    ("missing-column", lambda t: _pairs(t, [{"prompt": "a", "good": "b", "rejected": "c"}]),
     ["data.datasets=[{{name: {x}}}]", NO_EVAL], ["no column 'chosen'", "its columns are: prompt, good, rejected"],
     False),
    ("not-utf8-file", _not_utf8, ["data.datasets=[{{name: {x}}}]", NO_EVAL],
     ["binary.jsonl: line 2 (byte offset 48) is not UTF-8 text (byte 0xff)", "UTF-8 encoded"], False),
    ("eval-split-column", lambda t: _pairs(t, [{"prompt": "a", "chosen": "b", "rejected": "c"}]),
     ["data.eval_datasets=[{{name: {x}, chosen_column: good}}]"],
     ["no column 'good' (data.eval_datasets[].chosen_column)"], False),
    ("empty-dataset", _empty, ["data.datasets=[{{name: {x}}}]", NO_EVAL], ["empty.jsonl", "is empty"], True),
    ("empty-chosen", lambda t: _pairs(t, [{"prompt": "a", "chosen": "b", "rejected": "c"},
                                           {"prompt": "a", "chosen": " ", "rejected": "c"}]),
     ["data.datasets=[{{name: {x}}}]", NO_EVAL], ["empty 'chosen'", "row 1"], False),
    ("unknown-builtin-dataset", None, ["data.datasets=[{{name: 'builtin:nope'}}]", NO_EVAL],
     ["builtin:tiny_prefs"], True),
    ("model-path-without-config", _not_a_model, ["model.base_model_name={x}"], ["has no config.json"], True),
    ("finished-output-dir", _finished_model, ["training.output_dir={x}"],
     ["already holds a finished model", "overwrite_output_dir"], True),
    ("unwritable-output-dir", _under_a_file, ["training.output_dir={x}"], ["cannot be written"], True),
    ("missing-checkpoint", None, ["training.resume={tmp}/checkpoint-7", "training.save_only_model=false"],
     ["training.resume", "checkpoint-7' does not exist"], True),
    ("reward-wrong-length", _short_reward, ["algorithm=grpo", "algorithm.rewards=[{x}]", NO_EVAL],
     ["reward 'short' returned 1 values for 16 completions"], False),
    ("more-gpus-than-present", None, ["hardware=gpu8_zero2"], ["needs CUDA GPUs", "hardware=cpu"], False),
]


def _cli(args, cwd):
    """The real CLI in a fresh interpreter; stdout ends with the heavy modules it had imported."""
    code = (
        "import sys\n"
        f"sys.argv = ['fai-rl', *{args!r}]\n"
        "from fai_rl.cli.main import main\n"
        "code = 0\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'trl', 'datasets') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
        "sys.exit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": f"{REPO}:{cwd}"})


def _check(proc, expected, light):
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("fai-rl: error:")]
    assert proc.returncode not in (0, None), proc.stderr[-3000:]
    assert len(errors) == 1, proc.stderr[-3000:]
    for text in expected:
        assert text in errors[0], errors[0]
    assert "Traceback" not in proc.stderr
    if light:
        assert proc.stdout.rstrip().endswith("HEAVY="), proc.stdout[-500:]


@pytest.mark.parametrize("args,expected", CONFIG, ids=[" ".join(a) for a, _ in CONFIG])
def test_bad_config(args, expected, tmp_path):
    proc = _cli([*args, f"hydra.run.dir={tmp_path}/run"], tmp_path)
    assert proc.returncode == 2
    _check(proc, expected, light=True)


@pytest.mark.parametrize("case", HEAVY, ids=[c[0] for c in HEAVY])
def test_bad_input(case, tmp_path):
    _, setup, args, expected, light = case
    x = setup(tmp_path) if setup else None
    args = [a.format(x=x, tmp=tmp_path) for a in args]
    paths = [f"hydra.run.dir={tmp_path}/run"]
    if not any(a.startswith("training.output_dir=") for a in args):
        paths.append(f"training.output_dir={tmp_path}/model")
    _check(_cli([*args, *paths], tmp_path), expected, light)


def test_config_error_leaves_no_run_dir(tmp_path):
    (tmp_path / "runs" / "fai-rl-dpo" / "earlier").mkdir(parents=True)  # another run's folder stays
    proc = run_cli("training.learning_rate=0", cwd=tmp_path)
    assert proc.returncode == 2 and "training.learning_rate" in proc.stderr
    assert [p.name for p in (tmp_path / "runs" / "fai-rl-dpo").iterdir()] == ["earlier"]
    proc = run_cli("training.learning_rate=0", "hydra.run.dir=fresh/run", cwd=tmp_path)
    assert proc.returncode == 2 and not (tmp_path / "fresh" / "run").exists()


def test_catalogue_is_large_enough():
    assert len(CONFIG) + len(HEAVY) >= 25


def _imports_after(args, cwd):
    code = (
        "import sys\n"
        f"sys.argv = ['fai-rl', *{args!r}]\n"
        "from fai_rl.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'trl', 'datasets') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["training.learning_rate=0"],
                                  ["algorithm=nope"], ["training.learnign_rate=1"],
                                  ["algorithm=gspo", "algorithm.num_generations=3"]])
def test_compose_and_validate_import_no_torch(args, tmp_path):
    out = _imports_after(args, tmp_path)
    assert "HEAVY=\n" in out or out.rstrip().endswith("HEAVY="), out


def test_cfg_job_prints_composed_config():
    proc = run_cli("--cfg", "job", "algorithm.beta=0.3")
    assert proc.returncode == 0, proc.stderr
    assert "beta: 0.3" in proc.stdout
    assert "base_model_name: builtin:tiny" in proc.stdout


def test_help_lists_groups():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for group in ("model:", "data:", "hardware:"):
        assert group in proc.stdout
    listed = next(line for line in proc.stdout.splitlines() if line.startswith("algorithm: ")).split(": ")[1]
    assert {"dpo", "grpo", "gspo", "sft", "cpt", "rloo", "kto", "reward", "distill", "sft_vlm"} <= \
        set(listed.split(", "))


def test_eval_help_describes_evaluation():
    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.evaluate", "--help"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("`fai-rl-eval`: evaluate a saved model")
    assert "evaluation:" in proc.stdout and "reference_model" in proc.stdout
    assert "fai-rl -m key=v1,v2" not in proc.stdout and "\ntraining:" not in proc.stdout  # not training's help


HUB_CASES = [
    ("model", ["model.base_model_name=some-org/some-model"], "model.base_model_name 'some-org/some-model': the tokenizer"),
    ("dataset", ["data.datasets=[{name: some-org/some-data}]", NO_EVAL], "data.datasets[].name 'some-org/some-data'"),
]


@pytest.mark.parametrize("what,args,named", HUB_CASES, ids=[c[0] for c in HUB_CASES])
@pytest.mark.parametrize("hub", ["unreachable", "offline"])
def test_no_hub_gives_one_line_at_once(what, args, named, hub, tmp_path):
    """No hub: one line naming the model or dataset and what to do, without a minute of retries (the hub is made
    unreachable here by pointing HF_ENDPOINT at a closed port on this machine)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(PYTHONPATH=str(REPO), HF_HOME=str(tmp_path / "hf"))
    if hub == "offline":
        env["HF_HUB_OFFLINE"] = "1"
    else:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            env["HF_ENDPOINT"] = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there any more
    proc = subprocess.run([sys.executable, "-m", "fai_rl", *args, f"hydra.run.dir={tmp_path}/run",
                           f"training.output_dir={tmp_path}/model"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("fai-rl: error:")]
    assert len(errors) == 1 and named in errors[0], proc.stderr[-3000:]
    assert "is not in the local Hugging Face cache" in errors[0] and "HF_HUB_OFFLINE=1" in errors[0]
    assert ("cannot be reached" in errors[0]) == (hub == "unreachable")
    assert "Traceback" not in proc.stderr
