"""LoRA on the tiny model: only the adapter trains, the base is untouched, adapter and merged model reload."""
from __future__ import annotations

import torch
from conftest import make_run
from safetensors.torch import load_file

from fai_rl.models.tiny import tiny_model_path
from fai_rl.training.pipeline import train

LORA = ["model.lora.enabled=true", "model.lora.r=8", "model.lora.alpha=16", "model.lora.merge_on_save=true",
        "training.max_steps=30", "training.learning_rate=5e-3"]


def test_lora_dpo_trains_adapter_only_and_reloads(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_before = load_file(str(tiny_model_path() / "model.safetensors"))
    summary = train(make_run(LORA, tmp_path))
    out = tmp_path / "model"
    assert (out / "adapter_model.safetensors").exists() and not (out / "model.safetensors").exists()
    adapter = load_file(str(out / "adapter_model.safetensors"))
    assert adapter and all("lora_" in k for k in adapter)
    assert summary["eval_after"]["eval_rewards/accuracies"] > summary["eval_before"]["eval_rewards/accuracies"]

    base_after = load_file(str(tiny_model_path() / "model.safetensors"))
    assert all(torch.equal(base_before[k], base_after[k]) for k in base_before)

    tok = AutoTokenizer.from_pretrained(out)
    ids = tok("Q: What sound does a cow make?\nA:", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(tiny_model_path())
    with_adapter = PeftModel.from_pretrained(base, out)
    merged = AutoModelForCausalLM.from_pretrained(out / "merged")
    with torch.no_grad():
        a = with_adapter(**ids).logits
        m = merged(**ids).logits
        b = AutoModelForCausalLM.from_pretrained(tiny_model_path())(**ids).logits
    assert torch.allclose(a, m, atol=1e-4)  # merged == base + adapter
    assert not torch.allclose(a, b, atol=1e-4)  # and the adapter changed something
    gen = merged.generate(**ids, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)
    assert gen.shape[1] > ids["input_ids"].shape[1]
    card = (out / "README.md").read_text()
    assert "LoRA adapter" in card and "dpo" in card


def test_trainable_parameters_are_only_lora(tmp_path):
    from fai_rl.algorithms import dpo
    from fai_rl.models.loading import load_tokenizer, resolve_model_path
    from fai_rl.training.arguments import common_args
    from fai_rl.training.pipeline import load_policy

    run = make_run(LORA, tmp_path)
    path = resolve_model_path(run.model.base_model_name)
    tok = load_tokenizer(run.model, path)
    train_ds, eval_ds = dpo.load_data(run, tok)
    model, peft_config = load_policy(run, path)
    trainer = dpo.build_trainer(run, model, tok, train_ds, eval_ds, common_args(run), peft_config=peft_config)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_saved_adapter_continues_training(tmp_path):
    first = tmp_path / "first"
    train(make_run(LORA, first))
    run = make_run(["model.lora.enabled=true", f"model.base_model_name={first / 'model'}", "training.max_steps=5"],
                   tmp_path / "second")
    summary = train(run)
    assert summary["steps"] == 5
    before = load_file(str(first / "model" / "adapter_model.safetensors"))
    after = load_file(str(tmp_path / "second" / "model" / "adapter_model.safetensors"))
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_lora_grpo_trains_only_the_adapter(tmp_path):
    summary = train(make_run(["algorithm=grpo", "model.lora.enabled=true", "model.lora.r=8",
                              "training.max_steps=4", "data.eval_datasets=[]"], tmp_path))
    assert summary["steps"] == 4
    adapter = load_file(str(tmp_path / "model" / "adapter_model.safetensors"))
    assert adapter and all("lora_" in k for k in adapter)
    assert any(v.abs().sum() > 0 for k, v in adapter.items() if "lora_B" in k)  # B starts at zero: it trained


def test_lora_sft_learns_with_the_adapter_only(tmp_path):
    summary = train(make_run(["algorithm=sft", "model.lora.enabled=true", "training.max_steps=20",
                              "training.learning_rate=5e-3", "training.progress_bar=false"], tmp_path))
    assert summary["eval_after"]["eval_loss"] < summary["eval_before"]["eval_loss"]
    adapter = load_file(str(tmp_path / "model" / "adapter_model.safetensors"))
    assert adapter and all("lora_" in k for k in adapter)
    assert not (tmp_path / "model" / "model.safetensors").exists()
