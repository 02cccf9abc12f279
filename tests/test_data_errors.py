"""Bad data gives one clear line naming the file/dataset and what is wrong, with exit code 2."""
from __future__ import annotations

import pytest
from conftest import run_cli, write_jsonl


def _cli(tmp_path, dataset: str):
    return run_cli(f"data.datasets=[{dataset}]", "data.eval_datasets=[]", "training.max_steps=2",
                   f"training.output_dir={tmp_path}/model", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)


def _line(proc):
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("fai-rl: error:")]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def test_missing_column_lists_available(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "a", "good": "b", "rejected": "c"}])
    line = _line(_cli(tmp_path, f"{{name: {data}}}"))
    assert "no column 'chosen'" in line and "prompt, good, rejected" in line and str(data) in line


def test_malformed_jsonl_names_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", chosen\n')
    line = _line(_cli(tmp_path, f"{{name: {path}}}"))
    assert "line 2" in line and str(path) in line


def test_missing_file(tmp_path):
    line = _line(_cli(tmp_path, f"{{name: {tmp_path}/nope.jsonl}}"))
    assert "nope.jsonl does not exist" in line


def test_empty_dataset(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    line = _line(_cli(tmp_path, f"{{name: {tmp_path}/empty.jsonl}}"))
    assert "empty" in line


def test_empty_response_rows(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "a", "chosen": "b", "rejected": "c"},
                                              {"prompt": "a", "chosen": " ", "rejected": "c"}])
    line = _line(_cli(tmp_path, f"{{name: {data}}}"))
    assert "empty 'chosen'" in line and "row 1" in line


def test_unknown_builtin_dataset(tmp_path):
    line = _line(_cli(tmp_path, "{name: 'builtin:nope'}"))
    assert "builtin:tiny_prefs" in line


def test_model_folder_without_config(tmp_path):
    (tmp_path / "notamodel").mkdir()
    proc = run_cli(f"model.base_model_name={tmp_path}/notamodel", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    line = _line(proc)
    assert "no config.json" in line


def test_finished_output_dir_is_not_overwritten(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_text("x")
    proc = run_cli(f"training.output_dir={out}", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    line = _line(proc)
    assert "already holds a finished model" in line and "overwrite_output_dir" in line
    assert (out / "model.safetensors").read_text() == "x"
