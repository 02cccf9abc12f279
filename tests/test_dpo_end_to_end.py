"""DPO on the embedded default learns for real, saves a model that reloads, and writes its run records."""
from __future__ import annotations

import json

import pytest
from conftest import make_run, run_cli, write_jsonl

from fai_rl.training.pipeline import train


@pytest.fixture(scope="module")
def dpo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dpo")
    run = make_run([], tmp)
    summary = train(run)
    return run, summary, tmp


def test_dpo_learns_the_preference(dpo_run):
    _, summary, _ = dpo_run
    before, after = summary["eval_before"], summary["eval_after"]
    assert summary["status"] == "completed" and summary["steps"] == 400
    assert after["eval_rewards/accuracies"] >= 0.8
    assert after["eval_rewards/accuracies"] > before["eval_rewards/accuracies"] + 0.5
    assert after["eval_policy_preference"] > before["eval_policy_preference"] + 0.2
    assert after["eval_loss"] < before["eval_loss"] - 0.2


def test_training_loss_falls(dpo_run):
    run, _, _ = dpo_run
    losses = [r["loss"] for r in map(json.loads, open(f"{run.run_dir}/metrics.jsonl")) if "loss" in r]
    assert len(losses) >= 10
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.15


def test_summary_file_matches_return(dpo_run):
    run, summary, _ = dpo_run
    saved = json.loads(open(f"{run.run_dir}/summary.json").read())
    assert saved["eval_after"] == pytest.approx(summary["eval_after"])
    assert saved["algorithm"] == "dpo" and saved["objective_metric"] == "eval_rewards/accuracies"
    assert saved["objective"] == pytest.approx(summary["eval_after"]["eval_rewards/accuracies"])


def test_saved_model_reloads_and_generates(dpo_run):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run, _, _ = dpo_run
    out = run.training.output_dir
    assert (f"{out}/model.safetensors") and __import__("os").path.exists(f"{out}/model.safetensors")
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    ids = tok("Q: What sound does a cow make?\nA:", return_tensors="pt")
    with torch.no_grad():
        gen = model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert gen.shape[1] > ids["input_ids"].shape[1]


HH_ROWS = [
    {"chosen": f"\n\nHuman: What is the opposite of {a}?\n\nAssistant: It is {b}.",
     "rejected": f"\n\nHuman: What is the opposite of {a}?\n\nAssistant: It is {a}."}
    for a, b in [("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow")] * 4
]
CHAT_ROWS = [
    {"chosen": [{"role": "user", "content": f"Color of {x}?"}, {"role": "assistant", "content": y}],
     "rejected": [{"role": "user", "content": f"Color of {x}?"}, {"role": "assistant", "content": "no idea"}]}
    for x, y in [("snow", "white"), ("grass", "green"), ("coal", "black"), ("the sky", "blue")] * 4
]


@pytest.mark.parametrize("rows", [HH_ROWS, CHAT_ROWS], ids=["hh-rlhf-style", "conversational"])
def test_other_preference_formats_train(rows, tmp_path):
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    run = make_run([f"data.datasets=[{{name: {data}}}]", "data.eval_datasets=[]", "training.max_steps=4",
                    "training.per_device_train_batch_size=4"], tmp_path)
    summary = train(run)
    assert summary["steps"] == 4
    assert (tmp_path / "model" / "model.safetensors").exists()


def test_cli_trains_from_a_local_file_with_mapped_columns(tmp_path):
    rows = [{"question": r["prompt"], "good": r["chosen"], "bad": r["rejected"]}
            for r in map(json.loads, open("fai_rl/data/bundled/tiny_prefs/train.jsonl"))][:32]
    data = write_jsonl(tmp_path / "mine.jsonl", rows)
    proc = run_cli(f"data.datasets=[{{name: {data}, prompt_column: question, chosen_column: good, "
                   "rejected_column: bad}]", "data.eval_datasets=[]", "training.max_steps=3",
                   f"training.output_dir={tmp_path}/model", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 3
    assert (tmp_path / "run" / "config.yaml").exists() and (tmp_path / "run" / ".hydra" / "config.yaml").exists()
    assert list((tmp_path / "logs").glob("*.log"))


def test_a_weighted_list_of_losses_trains(tmp_path):
    """TRL's combined losses (MPO = sigmoid + bco_pair + sft): the eval loss is their weighted sum, and it falls."""
    summary = train(make_run(["algorithm.loss_type=[sigmoid,bco_pair,sft]", "algorithm.loss_weights=[0.8,0.2,1.0]",
                              "training.max_steps=60", "training.progress_bar=false"], tmp_path))
    assert summary["eval_after"]["eval_loss"] < summary["eval_before"]["eval_loss"] - 0.3
    assert summary["eval_before"]["eval_loss"] > 3  # the sft term (a language-model loss) dominates, unlike sigmoid's 0.69


def test_f_divergence_wpo_and_tr_dpo_train(tmp_path):
    summary = train(make_run(["algorithm.f_divergence_type=js_divergence", "algorithm.use_weighting=true",
                              "algorithm.sync_ref_model=true", "algorithm.precompute_ref_log_probs=false",
                              "algorithm.ref_model_sync_steps=2", "training.max_steps=4", "data.eval_datasets=[]",
                              "training.progress_bar=false"], tmp_path))
    assert summary["status"] == "completed" and summary["steps"] == 4
