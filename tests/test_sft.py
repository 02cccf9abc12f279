"""SFT on the embedded default, its data forms, and the SFT -> DPO -> GRPO chain by run name."""
from __future__ import annotations

import json

import pytest
from conftest import built_trainer, make_run, run_cli, write_jsonl

from fai_rl.errors import ConfigError
from fai_rl.training.pipeline import train

FAST = ["data.eval_datasets=[]", "training.progress_bar=false"]


def test_sft_default_learns_the_held_out_answers(tmp_path):
    summary = train(make_run(["algorithm=sft", "training.max_steps=150", "training.progress_bar=false"], tmp_path))
    before, after = summary["eval_before"], summary["eval_after"]
    assert after["eval_loss"] < before["eval_loss"] - 1.0
    assert after["eval_mean_token_accuracy"] > before["eval_mean_token_accuracy"] + 0.3
    assert (tmp_path / "run" / "training_curves.png").exists()
    assert (tmp_path / "model" / "model.safetensors").exists()


@pytest.mark.parametrize("rows,spec", [
    ([{"question": "2+2?", "response": " 4"}] * 16, "{name: %s, prompt_column: question, completion_column: response}"),
    ([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}] * 16,
     "{name: %s}"),
    ([{"text": "the cat sat on the mat"}] * 16, "{name: %s}"),
], ids=["prompt-response", "messages", "text"])
def test_sft_data_forms_train(rows, spec, tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", rows)
    summary = train(make_run(["algorithm=sft", f"data.datasets=[{spec % data}]", "training.max_steps=3",
                              "training.per_device_train_batch_size=1", *FAST], tmp_path))  # packed: a few rows
    assert summary["status"] == "completed" and summary["steps"] == 3


def test_packing_too_few_rows_for_a_step_is_named(tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", [{"prompt": "2+2?", "completion": " 4"}] * 16)
    with pytest.raises(ConfigError, match=r"algorithm.packing=true packs the 16 training rows into \d sequence\(s\) of data.max_length=64 .*algorithm.packing=false"):
        train(make_run(["algorithm=sft", f"data.datasets=[{{name: {data}}}]", *FAST], tmp_path))


def _loss_over_all_rows(packing: bool, tmp_path):
    """The untrained model's loss over every training row in one batch, and how many rows the trainer holds."""
    import torch

    trainer = built_trainer(["algorithm=sft", f"algorithm.packing={packing}", "data.eval_datasets=[]"],
                            tmp_path / str(packing))
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    with torch.no_grad():
        return trainer.model(**trainer.data_collator(rows), use_cache=False).loss.item(), len(rows)


def test_packing_gives_the_unpacked_loss(tmp_path):
    """Packed sequences attend only to themselves (transformers' mask from the restarting position ids): the loss
    over the same examples equals the padded one's, from fewer rows."""
    packed, packed_rows = _loss_over_all_rows(True, tmp_path)
    padded, padded_rows = _loss_over_all_rows(False, tmp_path)
    assert packed_rows < padded_rows / 2
    assert packed == pytest.approx(padded, rel=1e-4)


def test_sft_data_without_its_columns_is_named(tmp_path):
    data = write_jsonl(tmp_path / "sft.jsonl", [{"question": "a", "answer": "b"}] * 4)
    with pytest.raises(ConfigError, match=r"none of the SFT columns: 'completion' \(completion_column"):
        train(make_run(["algorithm=sft", f"data.datasets=[{{name: {data}}}]", *FAST], tmp_path))


def test_system_prompt_without_fields_is_a_system_message():
    from fai_rl.config.schema import DataConfig
    from fai_rl.data.sft import with_system_prompt

    assert with_system_prompt("2+2?", DataConfig(system_prompt="Be brief.")) == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]


def test_unknown_run_name_lists_the_runs(tmp_path):
    (tmp_path / "models" / "other-run").mkdir(parents=True)
    proc = run_cli("model.base_model_name=run:tiny-sft", "--cfg", "job", cwd=tmp_path)  # composes: fine
    assert proc.returncode == 0
    proc = run_cli("model.base_model_name=run:tiny-sft", "hardware.dry_run=true", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no finished model under models/tiny-sft/" in proc.stderr and "other-run" in proc.stderr


@pytest.mark.slow
def test_sft_then_dpo_then_grpo_by_run_name(tmp_path):
    steps = [["algorithm=sft", "training.run_name=tiny-sft", "training.max_steps=60"],
             ["algorithm=dpo", "model.base_model_name=run:tiny-sft", "training.run_name=tiny-dpo",
              "training.max_steps=30"],
             ["algorithm=grpo", "model.base_model_name=run:tiny-dpo", "training.run_name=tiny-grpo",
              "training.max_steps=10"]]
    summaries = []
    for args in steps:
        proc = run_cli(*args, "training.progress_bar=false", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        summaries.append(json.loads(next((tmp_path / "runs" / args[-2].split("=")[1]).glob("*/summary.json"))
                                    .read_text()))
    for earlier, later in zip(summaries, summaries[1:]):
        config = (tmp_path / later["run_dir"] / "config.yaml").read_text()
        assert f"base_model_name: {earlier['output_dir']}" in config  # the resolved path, not run:<name>
    assert [s["status"] for s in summaries] == ["completed"] * 3
