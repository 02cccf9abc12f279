"""fai-rl-inference and fai-rl-eval --recipe on FAI-RL's recipes: local models, three checkpoints of a real tiny run
side by side, an OpenAI-compatible server on 127.0.0.1 (resuming an interrupted run), MMLU and GSM8K scoring and
the bad inputs, each one line."""
from __future__ import annotations

import csv
import importlib.util
import json
import os

import pytest
import yaml
from conftest import REPO, make_run, write_jsonl
from openai_server import TinyChatModel, openai_server

from fai_rl.cli import inference_recipe
from fai_rl.cli.inference import evaluation_main
from fai_rl.cli.inference import main as inference_main
from fai_rl.errors import ConfigError
from fai_rl.evaluation.benchmarks import score
from fai_rl.inference.prompts import load_rows
from fai_rl.training.pipeline import train

PERSONA_PROMPT = "Your persona: {persona}\nUser: {prompt}\nReply as JSON {{\"reply\": ...}}\n"
MMLU_PROMPT = "{question}\n{choices}\nAnswer with JSON: {{\"answer\": \"<letter>\"}}"


def write_recipe(path, section: str, **values):
    path.write_text(yaml.safe_dump({section: values}))
    return str(path)


def read_csv(path) -> list:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def persona_csv(path, rows: int = 4):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["persona", "prompt", "unused"])
        writer.writerows([[f"persona {i}", f"question {i}, with {{braces}}", i] for i in range(rows)])
    return str(path)


def persona_recipe(tmp_path, **model):
    return dict(**model, output_file=str(tmp_path / "out" / "run-infer.csv"), dataset_name=persona_csv(tmp_path / "d.csv"),
                dataset_split="test", dataset_columns=["persona", "prompt"], response_column="response",
                system_prompt=PERSONA_PROMPT, temperature=1.0, top_p=0.9, max_new_tokens=8, do_sample=True)


def test_an_inference_recipe_over_a_local_csv_writes_a_response_per_row(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PYTORCH_CUDA_ALLOC_CONF", raising=False)
    recipe = write_recipe(tmp_path / "r.yaml", "inference", **persona_recipe(tmp_path, model_path="builtin:tiny"))
    assert inference_main(["--recipe", recipe, "inference.max_new_tokens=6"]) == 0
    assert os.environ["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"  # for transformers' generate on CUDA
    rows = read_csv(tmp_path / "out" / "run-infer.csv")
    assert [r["persona"] for r in rows] == [f"persona {i}" for i in range(4)]
    assert list(rows[0]) == ["persona", "prompt", "response"]  # the input columns the prompt used, then the answer
    answers = [json.loads(line) for line in (tmp_path / "out" / "run-infer.csv.answers.jsonl").read_text().splitlines()]
    assert len(answers) == 4 and all(a["error"] is None for a in answers)  # every row answered (the tiny model's
    assert [r["response"] for r in rows] == [a["response"] for a in answers]  # answer may be empty: it can stop at once)
    monkeypatch.setenv("PYTORCH_CUDA_ALLOC_CONF", "max_split_size_mb:256")
    assert inference_main(["--recipe", recipe, "inference.max_new_tokens=6"]) == 0  # the same recipe again
    assert "4 of 4 rows already answered, 0 to ask" in capsys.readouterr().out
    assert os.environ["PYTORCH_CUDA_ALLOC_CONF"] == "max_split_size_mb:256"  # the user's setting is kept
    assert read_csv(tmp_path / "out" / "run-infer.csv") == rows


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpts")
    train(make_run(["training.max_steps=6", "training.save_steps=2", "training.save_only_model=true",
                    "training.save_total_limit=null", "training.eval_steps=100", "data.eval_datasets=[]"], tmp))
    return [str(tmp / "model" / f"checkpoint-{step}") for step in (2, 4, 6)]


def mmlu_file(path, rows: int = 6):
    return str(write_jsonl(path, [{"question": f"Which letter is number {i % 4}?", "choices": ["w", "x", "y", "z"],
                                   "answer": i % 4, "subject": ("algebra", "biology")[i % 2]} for i in range(rows)]))


def test_three_checkpoints_on_mmlu_print_accuracy_per_checkpoint_and_plot_it(checkpoints, tmp_path, capsys):
    recipe = write_recipe(tmp_path / "mmlu.yaml", "evaluation", model_paths=checkpoints,
                          output_file=str(tmp_path / "mmlu.csv"), dataset_name=mmlu_file(tmp_path / "mmlu.jsonl"),
                          dataset_subset="all", dataset_split="test", dataset_columns=["question", "choices"],
                          ground_truth_column="answer", response_column="response", system_prompt=MMLU_PROMPT,
                          temperature=0.0, max_new_tokens=6, do_sample=False)
    assert evaluation_main("fai-rl-eval", ["--recipe", recipe]) == 0
    out = capsys.readouterr().out
    for name in ("checkpoint-2", "checkpoint-4", "checkpoint-6"):
        assert f"| {name} | all | 6 |" in out and f"| {name} | algebra | 3 |" in out
        assert f"response_{name}" in read_csv(tmp_path / "mmlu.csv")[0]
    summary = json.loads((tmp_path / "mmlu_summary.json").read_text())
    overall = [r for r in summary["results"] if r["subject"] == "all"]
    assert [r["checkpoint"] for r in overall] == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert all(r["n"] == 6 and 0 <= r["accuracy"] <= 1 for r in overall)
    assert (tmp_path / "mmlu_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mmlu_and_gsm8k_score_as_fai_rl_does():
    assert score("mmlu", 'I think {"answer": "C"}', 2) == ("C", True)
    assert score("mmlu", '```json\n{"answer": "b"}\n```', 2) == ("B", False)
    # FAI-RL's readings when the response is not its JSON: phrasings, then the first character
    assert score("mmlu", "The answer is C", 2) == ("C", True)
    assert score("mmlu", "Answer: d", 3) == ("D", True)
    assert score("mmlu", "I'd say option B is the best choice", 1) == ("B", True)
    assert score("mmlu", "the correct answer should be A.", 0) == ("A", True)
    assert score("mmlu", "B, because it is", 2) == ("B", False)
    assert score("mmlu", "no idea", 2) == (None, False)  # 'N' is no choice letter: nothing read, scored wrong
    assert score("mmlu", None, 0) == (None, False)  # a failed request


# (response, ground truth, the answer FAI-RL's GSM8K scorer reads, whether it scores it right): read off FAI-RL's
# evaluations/eval.py rule (the last number-like run, `,` `$` and one trailing `.` dropped, compared as text)
GSM8K_AS_FAI_RL = [
    ("So she has 42 left.\n#### 42", "#### 42", "42", True),
    ("The answer is 1,234.", "3+4=7 ...\n#### 1234", "1234", True),
    ("The answer is 1,234.", "#### 1,234", "1234", False),  # the ground truth keeps its comma
    ("It costs $5.00", "#### 5", "5.00", False),  # text, not numbers
    ("x is 72.0", "#### 72", "72.0", False),
    ("The temperature is -3", "#### -3", "-3", True),
    ("She eats 3/4 of it", "#### 0.75", "4", False),  # no fractions: the last number is 4
    ("Total: 18.", "#### 18", "18", True),  # one trailing period dropped
    ("Wait... 18...", "#### 18", "18..", False),  # only one
    ("3 + 4 = 7 apples and 2 pears", "#### 7", "2", False),  # the last number, not the result
    ("I do not know", "#### 1", None, False),
    ("", "#### 1", None, False),
    ("\\boxed{42}", "#### 42", "42", True),
    ("\\boxed{\\frac{1}{2}}", "#### 0.5", "2", False),
    ("costs $ 5", "####  5 ", "5", True),
    ("see -.5 and 5-3", "#### -3", "-3", True),
    ("1.5e3", "#### 3", "3", True),
    ("$$", "#### 1", "", False),  # an empty reading: answered, wrong
]


@pytest.mark.parametrize("response,truth,read,right", GSM8K_AS_FAI_RL)
def test_gsm8k_scores_as_fai_rl_scores(response, truth, read, right):
    assert score("gsm8k", response, truth) == (read, right)


@pytest.mark.parametrize("response,truth,right", [
    ("The total is $5.00.", "#### 5", True), ("She eats \\boxed{\\frac{1}{2}}", "#### 0.5", True),
    ("x is 72.0", "#### 72", True), ("3 + 4 = 7 apples and 2 pears", "#### 7", False), ("none", "#### 1", False)])
def test_gsm8k_by_math_verify_compares_values(response, truth, right):
    """evaluation.gsm8k_match: math_verify, where FAI-RL's text comparison calls the first three wrong."""
    assert score("gsm8k", response, truth, "math_verify")[1] is right
    assert score("gsm8k", response, truth)[1] is False or right is False


def test_a_bad_gsm8k_match_is_named(tmp_path):
    values = {**persona_recipe(tmp_path, model_path="builtin:tiny"), "ground_truth_column": "x", "task": "gsm8k"}
    with pytest.raises(ConfigError, match="'evaluation.gsm8k_match' must be one of exact, math_verify, got 'sympy'"):
        inference_recipe.check({**values, "gsm8k_match": "sympy"}, "evaluation")
    with pytest.raises(ConfigError, match="'inference.gsm8k_match' is an evaluation key"):
        inference_recipe.check({**values, "gsm8k_match": "math_verify"}, "inference")


@pytest.fixture(scope="module")
def tiny_chat():
    pytest.importorskip("openai", reason="the API engine's client: pip install 'fai-rl[api]' (the dev extra has it)")
    return TinyChatModel()


@pytest.mark.slow
def test_an_interrupted_api_run_resumes_without_asking_twice(tiny_chat, tmp_path, capsys):
    key = "sk-test-0123456789abcdef"
    with openai_server(tiny_chat, key=key) as (url, server):
        recipe = write_recipe(tmp_path / "api.yaml", "inference", **persona_recipe(
            tmp_path, api_endpoint=url, api_key=key, model="tiny"), max_retries=0, concurrency=2)
        server.fail_after = 2  # the server goes down after two answers
        assert inference_main(["--recipe", recipe]) == 1
        rows = read_csv(tmp_path / "out" / "run-infer.csv")
        assert sum(bool(r["error"]) for r in rows) == 2 and server.answered == 2 and server.refused == 2
        assert "2 of 4 rows failed" in capsys.readouterr().err
        server.fail_after = None  # back up: the rerun asks only for the two missing rows
        assert inference_main(["--recipe", recipe]) == 0
        assert server.answered == 4
        rows = read_csv(tmp_path / "out" / "run-infer.csv")
        assert len(rows) == 4 and "response" in rows[0] and "error" not in rows[0]
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    assert key not in written


@pytest.mark.slow
def test_a_wrong_key_and_an_unreachable_endpoint_stop_with_one_line(tiny_chat, tmp_path, capsys):
    with openai_server(tiny_chat, key="right") as (url, server):
        recipe = write_recipe(tmp_path / "api.yaml", "inference", **persona_recipe(
            tmp_path, api_endpoint=url, api_key="wrong-key", model="tiny"), max_retries=0)
        with pytest.raises(SystemExit) as stopped:
            inference_main(["--recipe", recipe])
    closed = url  # the server is down now
    assert stopped.value.code == 2 and server.answered == 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refused the API key (401)" in err and "inference.api_key" in err
    with pytest.raises(SystemExit) as stopped:
        inference_main(["--recipe", recipe, f"inference.api_endpoint={closed}"])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and "cannot reach inference.api_endpoint" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("change,message", [
    ({"dataset_columns": ["persona", "question"], "system_prompt": "{persona}: {question}"}, "has no column 'question' \\(inference.dataset_columns\\)"),
    ({"system_prompt": "Hi {name}"}, "uses \\{name\\}, which is not in inference.dataset_columns"),
    ({"temprature": 0.5}, "unknown key 'inference.temprature' \\(did you mean 'temperature'\\?\\)"),
    ({"model_paths": ["a", "b"]}, "inference.model_path and inference.model_paths are both set"),
    ({"output_file": None}, "'inference.output_file' is required"),
    ({"engine": "tgi"}, "'inference.engine' must be one of transformers, vllm, got 'tgi'"),
])
def test_bad_recipes_name_the_key(change, message, tmp_path):
    values = {**persona_recipe(tmp_path, model_path="builtin:tiny"), **change}
    with pytest.raises(ConfigError, match=message):
        load_rows(inference_recipe.check(values))


def test_an_empty_dataset_and_an_unknown_task_are_config_errors(tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_text("")
    recipe = write_recipe(tmp_path / "r.yaml", "inference", **{**persona_recipe(tmp_path, model_path="builtin:tiny"),
                                                             "dataset_name": str(tmp_path / "empty.jsonl")})
    with pytest.raises(SystemExit) as stopped:
        inference_main(["--recipe", recipe])
    assert stopped.value.code == 2 and "is empty" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="'evaluation.task' must be one of mmlu, gsm8k"):
        inference_recipe.check({**persona_recipe(tmp_path, model_path="builtin:tiny"), "ground_truth_column": "x"},
                               "evaluation")


@pytest.mark.parametrize("path", sorted((REPO / "examples" / "inference_recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_the_example_recipes_read(path):
    section = next(iter(yaml.safe_load(path.read_text())))
    recipe = inference_recipe.load(str(path), section)
    assert recipe.models and (section == "inference" or recipe.task in inference_recipe.TASKS)


def reference_letter_logprobs(folder: str, prompt: str) -> list:
    """log p(' A'), log p(' B'), ... after the chat-templated prompt, with transformers alone, one unpadded
    sequence at a time (the check on fai-rl's batched, left-padded scoring)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder).eval()
    context = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                            add_generation_prompt=True)
    start = len(tokenizer(context, add_special_tokens=False).input_ids)
    scores = []
    for letter in "ABCD":
        ids = tokenizer(context + " " + letter, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            logprobs = model(ids).logits[0].log_softmax(-1)
        scores.append(sum(logprobs[i - 1, ids[0, i]].item() for i in range(start, ids.shape[1])))
    return scores


def test_mmlu_by_loglikelihood_scores_each_choice_letter_per_checkpoint(checkpoints, tmp_path, capsys):
    questions = ["Pick z.", "Which of these four letters comes last in the alphabet, after all the others?",
                 "Is w a letter?", "Which one is x, the twenty-fourth letter?", "y?"]
    data = write_jsonl(tmp_path / "mmlu.jsonl", [
        {"question": q, "choices": ["w", "x", "y", "z"], "answer": i % 4, "subject": ("algebra", "biology")[i % 2]}
        for i, q in enumerate(questions)])
    recipe = write_recipe(tmp_path / "ll.yaml", "evaluation", model_paths=[checkpoints[0], checkpoints[2]],
                          output_file=str(tmp_path / "ll.csv"), dataset_name=str(data), dataset_split="train",
                          dataset_columns=["question", "choices"], ground_truth_column="answer",
                          system_prompt="{question}\n{choices}\nAnswer:", mmlu_protocol="loglikelihood", batch_size=2)
    assert evaluation_main("fai-rl-eval", ["--recipe", recipe]) == 0
    out = capsys.readouterr().out
    assert "| checkpoint-6 | biology | 2 |" in out and "| checkpoint-2 | all | 5 |" in out
    rows = read_csv(tmp_path / "ll.csv")
    assert "response_checkpoint-6" not in rows[0]  # nothing generated
    for row, question in list(zip(rows, questions))[:2]:
        expected = reference_letter_logprobs(checkpoints[2], f"{question}\nA. w\nB. x\nC. y\nD. z\nAnswer:")
        scores = json.loads(row["choice_logprobs_checkpoint-6"])
        assert scores == pytest.approx(expected, abs=1e-4)
        assert row["predicted_checkpoint-6"] == "ABCD"[expected.index(max(expected))]
    summary = json.loads((tmp_path / "ll_summary.json").read_text())
    assert summary["mmlu_protocol"] == "loglikelihood"
    for name in ("checkpoint-2", "checkpoint-6"):
        right = [r[f"correct_{name}"] == "True" for r in rows]
        overall = next(r for r in summary["results"] if r["checkpoint"] == name and r["subject"] == "all")
        assert overall["accuracy"] == pytest.approx(sum(right) / 5) and overall["unanswered"] == 0
    assert (tmp_path / "ll_accuracy.png").exists()


@pytest.mark.parametrize("change,message", [
    ({"api_endpoint": "http://127.0.0.1:9/v1", "model": "tiny", "model_paths": None},
     "'evaluation.mmlu_protocol: loglikelihood' needs a local model"),
    ({"mmlu_protocol": "logprob"}, "'evaluation.mmlu_protocol' must be one of generative, loglikelihood"),
    ({"task": "gsm8k"}, "scores MMLU's choices; the task is gsm8k"),
])
def test_loglikelihood_mmlu_refuses_api_models_and_other_tasks(change, message, tmp_path):
    values = dict(model_paths=["builtin:tiny"], output_file="o.csv", dataset_name="d.jsonl", dataset_columns=["q"],
                  ground_truth_column="answer", task="mmlu", mmlu_protocol="loglikelihood")
    with pytest.raises(ConfigError, match=message):
        inference_recipe.check({**values, **change}, "evaluation")


VLLM_INSTALLED = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(VLLM_INSTALLED, reason="vLLM is installed here: the engine runs (test_the_vllm_engine_answers_every_row)")
def test_the_vllm_engine_without_vllm_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="'inference.engine: vllm' needs vLLM, which is not installed: pip install"):
        inference_recipe.check({**persona_recipe(tmp_path, model_path="builtin:tiny"), "engine": "vllm"})
    with pytest.raises(ConfigError, match="'inference.engine: vllm' runs local models"):
        inference_recipe.check({**persona_recipe(tmp_path, api_endpoint="http://127.0.0.1:9", model="m"),
                                "engine": "vllm"})


@pytest.mark.gpu
@pytest.mark.skipif(not VLLM_INSTALLED, reason="needs vLLM: pip install 'fai-rl[vllm]'")
def test_the_vllm_engine_answers_every_row(tmp_path):
    values = {**persona_recipe(tmp_path, model_path="builtin:tiny"), "engine": "vllm", "do_sample": False}
    recipe = write_recipe(tmp_path / "r.yaml", "inference", **values)
    assert inference_main(["--recipe", recipe]) == 0
    rows = read_csv(tmp_path / "out" / "run-infer.csv")
    assert len(rows) == 4 and all(r["response"] for r in rows) and "error" not in rows[0]
