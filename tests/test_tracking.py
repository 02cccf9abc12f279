"""wandb (offline) receives the config and metrics; model cards; secrets never saved."""
from __future__ import annotations

import glob

from conftest import run_cli

from fai_rl.config.secrets import REDACTED, redact


def test_wandb_offline_run_holds_config_and_metrics(tmp_path):
    secret = "hf_Sup3rSecretTokenValue"
    proc = run_cli("wandb.enabled=true", "wandb.project=proj-x", "wandb.tags=[tag-a]", "training.max_steps=12",
                   "training.logging_steps=4", "training.run_name=wb-run", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path,
                   env={"WANDB_MODE": "offline", "HF_TOKEN": secret, "WANDB_API_KEY": "k" * 40})
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = glob.glob(f"{tmp_path}/run/wandb/offline-run-*/run-*.wandb")
    assert len(runs) == 1
    data = open(runs[0], "rb").read()
    for needle in (b"proj-x", b"wb-run", b"tag-a", b"train/loss", b"train/rewards/accuracies", b"learning_rate",
                   b"base_model_name"):
        assert needle in data, needle
    saved = [f for f in glob.glob(f"{tmp_path}/**/*", recursive=True) if not f.endswith(".safetensors")]
    for path in saved:
        if __import__("os").path.isfile(path):
            content = open(path, "rb").read()
            assert secret.encode() not in content and b"k" * 40 not in content, path


def test_no_wandb_folder_when_disabled(tmp_path):
    proc = run_cli("training.max_steps=2", f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not glob.glob(f"{tmp_path}/**/wandb", recursive=True)
    card = (tmp_path / "model" / "README.md").read_text()
    for text in ("builtin:tiny", "**dpo**", "builtin:tiny_prefs", "learning_rate", "fai-rl training.max_steps=2",
                 "## Final metrics"):
        assert text in card, text


def test_redact_replaces_secret_keys_and_values(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdef123456")
    cleaned = redact({"wandb": {"api_key": "abc", "name": "run with hf_abcdef123456"}, "hub_token": "x",
                      "lr": 1e-4})
    assert cleaned["wandb"]["api_key"] == REDACTED and cleaned["hub_token"] == REDACTED
    assert "hf_abcdef123456" not in cleaned["wandb"]["name"] and cleaned["lr"] == 1e-4
