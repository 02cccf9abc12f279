"""On-policy distillation (algorithm=distill): a fresh builtin:tiny student distilled from a tiny teacher trained by
SFT moves towards it on held-out prompts, and a teacher with another tokenizer is refused before training."""
from __future__ import annotations

import shutil

import pytest
from conftest import built_trainer, make_run

from fai_rl.errors import ConfigError
from fai_rl.models.tiny import tiny_model_path
from fai_rl.training.pipeline import train


def test_the_student_moves_towards_its_sft_teacher(tmp_path):
    teacher = train(make_run(["algorithm=sft", "training.max_steps=40", "training.learning_rate=3e-3",
                              "training.progress_bar=false"], tmp_path / "sft"))
    assert teacher["eval_after"]["eval_loss"] < teacher["eval_before"]["eval_loss"] - 1.0  # it learned the answers
    run = make_run(["algorithm=distill", f"algorithm.teacher={tmp_path / 'sft' / 'model'}", "training.max_steps=20",
                    "training.progress_bar=false"], tmp_path / "distill")
    assert run.model.base_model_name == "builtin:tiny" and run.data.datasets[0].name == "builtin:tiny_prefs"
    summary = train(run)
    assert summary["status"] == "completed" and summary["steps"] == 20 and summary["objective_metric"] == "eval_loss"
    before, after = summary["eval_before"]["eval_loss"], summary["eval_after"]["eval_loss"]
    assert after < 0.8 * before, (before, after)  # measured 0.33 -> 0.22: the divergence on held-out prompts falls


def test_a_teacher_with_another_tokenizer_is_named_before_training(tmp_path):
    from transformers import AutoTokenizer

    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_model_path(), teacher)
    tokenizer = AutoTokenizer.from_pretrained(teacher)
    tokenizer.add_tokens(["<extra-token>"])
    tokenizer.save_pretrained(teacher)
    with pytest.raises(ConfigError, match=f"algorithm.teacher '{teacher}' uses another tokenizer than the student"):
        built_trainer(["algorithm=distill", f"algorithm.teacher={teacher}"], tmp_path)


@pytest.mark.parametrize("teacher,message", [
    ("run:no-such-run", "algorithm.teacher 'run:no-such-run': no finished model under models/no-such-run/"),
    ("./missing-folder", "algorithm.teacher './missing-folder' is not a folder"),
])
def test_a_missing_teacher_is_named_at_validation(teacher, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        make_run(["algorithm=distill", f"algorithm.teacher={teacher}"], tmp_path)
