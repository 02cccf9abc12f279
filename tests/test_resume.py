"""Nothing lost: SIGTERM saves and exits 75, half-written checkpoints are never used (kill -9: test_faults.py)."""
from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, built_trainer, make_run

from fai_rl.storage.checkpoint_dirs import MARKER, complete_checkpoints
from fai_rl.training.pipeline import train

STEPS = 240
COMMON = [f"training.max_steps={STEPS}", "training.save_steps=40", "training.save_only_model=false",
          "training.save_total_limit=2", "training.logging_steps=20", "data.eval_datasets=[]"]


def _start(out, run_dir, *extra):
    args = [sys.executable, "-m", "fai_rl", *COMMON, f"training.output_dir={out}", f"hydra.run.dir={run_dir}",
            "training.progress_bar=false", *extra]
    return subprocess.Popen(args, cwd=out.parent, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(out, proc, min_step: int, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [p for p in complete_checkpoints(out) if int(p.name.split("-")[1]) >= min_step]
        if done:
            return done[-1]
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.02)
    raise AssertionError("no checkpoint appeared")


@pytest.mark.slow
def test_ctrl_c_stops_after_the_step_names_the_checkpoint_and_the_command_resumes(tmp_path):
    out = tmp_path / "model"
    proc = _start(out, tmp_path / "run1")
    _wait_for_checkpoint(out, proc, 40)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("fai-rl:")]
    assert len(lines) == 1 and lines[0].startswith("fai-rl: error: Ctrl-C: stopped at step "), lines
    newest = complete_checkpoints(out)[-1]
    assert f"newest complete checkpoint: {newest}" in lines[0]
    command = lines[0].split("continue with: ", 1)[1]
    assert command.startswith("fai-rl ") and command.endswith(f"training.output_dir={out} training.resume=auto")
    resumed = subprocess.run([sys.executable, "-m", "fai_rl", *shlex.split(command)[1:], "training.progress_bar=false"],
                             cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summaries = [json.loads(p.read_text()) for p in tmp_path.glob("runs/*/*/summary.json")]
    assert [s["steps"] for s in summaries] == [STEPS] and summaries[0]["resumed_from"] == str(newest)


@pytest.mark.slow
def test_second_ctrl_c_stops_at_once(tmp_path):
    """A step made slow by its reward: the first Ctrl-C waits for the step to end, the second does not."""
    (tmp_path / "slow_rewards.py").write_text("import time\n\ndef slow(completions, **kwargs):\n"
                                              "    time.sleep(0.5)\n    return [0.0] * len(completions)\n")
    args = [sys.executable, "-m", "fai_rl", "algorithm=grpo", "algorithm.rewards=[slow_rewards.slow]",
            "data.eval_datasets=[]", "training.max_steps=100", "training.logging_steps=1",
            "training.progress_bar=false", f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model"]
    proc = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{REPO}:{tmp_path}"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (tmp_path / "run" / "metrics.jsonl").exists():  # training has started
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)  # the first Ctrl-C is handled (the step goes on) before the second arrives
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("fai-rl:")]
    assert lines == ["fai-rl: interrupted (Ctrl-C): stopped at once; nothing more was saved"], lines


@pytest.mark.slow
def test_sigterm_saves_then_exits_75_and_resumes(tmp_path):
    out = tmp_path / "model"
    proc = _start(out, tmp_path / "run1", "training.resume=auto")
    _wait_for_checkpoint(out, proc, 40)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 75, err[-3000:]
    assert "training.resume=auto" in err
    last = complete_checkpoints(out)[-1]
    stopped_at = int(last.name.split("-")[1])
    assert stopped_at < STEPS and (last / "optimizer.pt").exists()
    proc = _start(out, tmp_path / "run2", "training.resume=auto")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads((tmp_path / "run2" / "summary.json").read_text())["resumed_from"].endswith(last.name)


def test_half_written_checkpoint_is_set_aside_and_newest_complete_kept(tmp_path):
    first = make_run(COMMON + ["training.max_steps=80"], tmp_path)
    train(first)
    out = tmp_path / "model"
    (out / "model.safetensors").unlink()  # pretend the run died after its last checkpoint
    broken = out / "checkpoint-200"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"partial")
    summary = train(make_run(COMMON + ["training.max_steps=120", "training.resume=auto",
                                       "training.save_total_limit=1"], tmp_path))
    assert summary["resumed_from"].endswith("checkpoint-80")
    assert not broken.exists() and list(out.glob("incomplete-checkpoint-200-*"))
    kept = complete_checkpoints(out)
    assert [p.name for p in kept] == ["checkpoint-120"] and (kept[0] / MARKER).exists()


def test_same_seed_same_metrics(tmp_path):
    runs = [train(make_run(["training.max_steps=30", "data.eval_datasets=[]"], tmp_path / str(i))) for i in (1, 2)]
    assert runs[0]["final_metrics"]["loss"] == runs[1]["final_metrics"]["loss"]
    assert runs[0]["train_loss"] == runs[1]["train_loss"]


def test_non_finite_loss_stops_with_step_and_metric(tmp_path, monkeypatch):
    from fai_rl.algorithms import dpo
    from fai_rl.errors import TrainingDiverged

    original = dpo.build_trainer

    @functools.wraps(original)  # the same signature: the registry checks it against the contract
    def poisoned(*args, **kwargs):
        trainer = original(*args, **kwargs)
        compute = trainer.compute_loss

        def nan_after_3(*a, **k):
            loss = compute(*a, **k)
            return loss * float("nan") if trainer.state.global_step >= 3 else loss
        trainer.compute_loss = nan_after_3
        return trainer

    monkeypatch.setattr(dpo, "build_trainer", poisoned)
    with pytest.raises(TrainingDiverged, match=r"step 4: the training loss is nan"):
        train(make_run(["training.max_steps=10", "data.eval_datasets=[]"], tmp_path))
    assert not (tmp_path / "model" / "model.safetensors").exists()


def test_the_loss_check_off_the_host_stops_before_the_next_save(tmp_path, monkeypatch):
    """On accelerators the loss stays on the device until a step is logged or saved (no sync per micro-step): the
    same NaN stops the run at the next checked step, and the checkpoint after it is never written."""
    from fai_rl.algorithms import dpo
    from fai_rl.errors import TrainingDiverged
    from fai_rl.training import callbacks, guards

    original = dpo.build_trainer

    @functools.wraps(original)  # the same signature: the registry checks it against the contract
    def poisoned(*args, **kwargs):
        trainer = original(*args, **kwargs)
        compute = trainer.compute_loss
        trainer.compute_loss = lambda *a, **k: compute(*a, **k) * (float("nan") if trainer.state.global_step >= 3
                                                                    else 1.0)
        return trainer

    monkeypatch.setattr(dpo, "build_trainer", poisoned)
    monkeypatch.setattr(callbacks, "FiniteLoss", lambda trainer: guards.FiniteLoss(trainer, defer=True))
    with pytest.raises(TrainingDiverged, match=r"step 5: the training loss became NaN or infinite after step 0"):
        train(make_run(["training.max_steps=10", "training.logging_steps=5", "training.save_steps=5",
                        "data.eval_datasets=[]"], tmp_path))
    assert not list((tmp_path / "model").glob("checkpoint-*"))


def test_resume_needs_full_checkpoints_and_existing_path(tmp_path):
    from fai_rl.errors import ConfigError

    with pytest.raises(ConfigError, match="save_only_model=false"):
        make_run(["training.resume=auto"], tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        train(make_run(["training.resume=/nope/checkpoint-3", "training.save_only_model=false"], tmp_path))


def test_resume_from_a_checkpoint_at_max_steps_takes_no_extra_step(tmp_path):
    train(make_run(COMMON + ["training.max_steps=40"], tmp_path))
    (tmp_path / "model" / "model.safetensors").unlink()  # died after the last checkpoint, before the final save
    summary = train(make_run(COMMON + ["training.max_steps=40", "training.resume=auto"], tmp_path))
    assert summary["steps"] == 40 and summary["resumed_from"].endswith("checkpoint-40")
    assert (tmp_path / "model" / "model.safetensors").exists()


def _epoch_prompts(trainer, epochs) -> list:
    """The prompts the trainer's own training dataloader yields in each of `epochs`, as the Trainer announces them."""
    loader, orders = trainer.get_train_dataloader(), []
    for epoch in epochs:
        loader.set_epoch(epoch)
        orders.append([row["prompt"][-1]["content"] if isinstance(row["prompt"], list) else row["prompt"]
                       for batch in loader for row in batch])
    return orders


def test_a_resumed_grpo_run_sees_each_epoch_in_the_order_of_an_unstopped_run(tmp_path):
    """TRL's RepeatSampler draws each epoch's order from a generator advanced once per pass; a run resumed in epoch 1
    made one pass only and so walked epoch 0's order again. fai-rl's GRPO trainer seeds each epoch instead."""
    straight = _epoch_prompts(built_trainer(["algorithm=grpo"], tmp_path / "straight"), [0, 1])
    resumed = _epoch_prompts(built_trainer(["algorithm=grpo"], tmp_path / "resumed"), [1])
    assert straight[0] != straight[1] and sorted(straight[0]) == sorted(straight[1])  # reshuffled, nothing lost
    assert resumed[0] == straight[1]


def _rank0_prompts(trainer, epoch: int, resumed_after: int = 0) -> list:
    """Rank 0's prompts in `epoch` of a 2-process run, as the Trainer iterates them: fai-rl's trainer announces the
    epoch, a resume mid-epoch skips the batches already trained (accelerate's skip_first_batches), then set_epoch."""
    from accelerate.data_loader import prepare_data_loader, skip_first_batches

    from fai_rl.algorithms._sampling.resumable import announce_epoch

    loader = prepare_data_loader(trainer.get_train_dataloader(), num_processes=2, process_index=0)
    announce_epoch(loader, epoch)
    if resumed_after:
        loader = skip_first_batches(loader, resumed_after)
    loader.set_epoch(epoch)
    return [row["prompt"][-1]["content"] if isinstance(row["prompt"], list) else row["prompt"]
            for batch in loader for row in batch]


def test_a_two_process_grpo_run_resumed_mid_epoch_keeps_that_epochs_order(tmp_path):
    """With several processes the sampler sits behind accelerate's BatchSamplerShard, and a resume mid-epoch wraps
    that in a SkipBatchSampler: the Trainer's set_epoch no longer reached the sampler, so a DDP run resumed in
    epoch 1 walked epoch 0's order (max |weight difference| 0.004). fai-rl's trainer announces each epoch itself."""
    straight = _rank0_prompts(built_trainer(["algorithm=grpo"], tmp_path / "straight"), 1)
    resumed = _rank0_prompts(built_trainer(["algorithm=grpo"], tmp_path / "resumed"), 1, resumed_after=3)
    assert len(resumed) > 0 and resumed == straight[len(straight) - len(resumed):]
