"""Built-in rewards, answer extraction, and resolving rewards by name or dotted path (with their errors)."""
from __future__ import annotations

import numpy as np
import pytest

from fai_rl.errors import ConfigError
from fai_rl.rewards import resolve
from fai_rl.rewards.answers import answers_match, final_answer
from fai_rl.rewards.builtin import answer_accuracy, length_penalty, length_target, letter_share, think_answer_format
from fai_rl.rewards.values import check_values


@pytest.mark.parametrize("text,expected", [
    ("Tom has 3 + 4 = 7 apples.\n#### 7", "7"),
    ("so the answer is \\boxed{\\frac{3}{4}} indeed", "\\frac{3}{4}"),
    ("\\boxed{x^{2}+1}", "x^{2}+1"),
    ("<think>2 and 40</think><answer> 42 </answer>", "42"),
    ("I think 12, no wait, 15 apples", "15"),
    ("no number here", None),
])
def test_final_answer_finds_each_form(text, expected):
    assert final_answer(text) == expected


@pytest.mark.parametrize("predicted,reference,same", [
    ("1,000", "1000", True), ("42.0", "42", True), ("$42.", "42", True), ("\\frac{1}{2}", "0.5", True),
    ("3/4", "\\dfrac{3}{4}", True), ("41", "42", False), ("x = 5", "5", True), ("\\pi", "\\pi", True),
    ("\\pi", "2\\pi", False), (None, "1", False),
    ("$\\{1,2\\}$", "$\\{2,1\\}$", True), ("$(1,2]$", "$(1,2]$", True),  # sets, intervals: math-verify
])
def test_answers_match_by_value(predicted, reference, same):
    assert answers_match(predicted, reference) is same


def test_accuracy_reads_completion_and_reference_the_same_way():
    completions = ["so 3 + 4 = 7\n#### 7", "<answer>8</answer>", "the total is \\boxed{7}", "I don't know"]
    assert answer_accuracy(completions, answer=["3 + 4 = 7.\n#### 7"] * 4) == [1.0, 0.0, 1.0, 0.0]
    chat = [[{"role": "assistant", "content": "#### 12"}]]
    assert answer_accuracy(chat, answer=["\\boxed{12}"]) == [1.0]


def test_format_reward():
    good = "<think>add them</think>\n<answer>7</answer>"
    assert think_answer_format([good, "<answer>7</answer>", good + " extra", f"  {good}  "]) == [1.0, 0.0, 0.0, 1.0]


def test_length_rewards():
    ids = [[0] * 10, [0] * 5, [0] * 30]
    assert length_target(["", "", ""], target=10, completion_ids=ids) == [1.0, 0.5, 0.0]
    assert length_penalty(["", "", ""], limit=10, per_token=0.1, completion_ids=ids) == pytest.approx([0, 0, -2.0])
    with pytest.raises(ConfigError, match="target must be > 0"):
        length_target(["a"], target=0)


def test_letter_share():
    assert letter_share(["aei ou", "xyz", "", "AbAb"]) == [1.0, 0.0, 0.0, 0.5]
    assert letter_share(["xyz"], letters="xy") == [pytest.approx(2 / 3)]


def score_first_letter(completions, bonus: float = 0.0, **kwargs):
    """A user reward for the tests: 1 + bonus when a completion starts with 'a'."""
    return [float(c.startswith("a")) + bonus for c in completions]


def no_kwargs(completions):
    return [0.0] * len(completions)


NOT_CALLABLE = 3


def test_resolve_forms_names_weights_and_kwargs():
    rewards = resolve(["accuracy", {"_target_": "letter_share", "weight": 0.5, "letters": "xyz"},
                       {"_target_": "test_rewards.score_first_letter", "bonus": 2.0}, "letter_share"])
    assert [r.name for r in rewards] == ["accuracy", "letter_share", "score_first_letter", "letter_share_2"]
    assert [r.weight for r in rewards] == [1.0, 0.5, 1.0, 1.0]
    assert rewards[0].required_columns == ("answer",)
    assert rewards[1].fn(prompts=["p"], completions=["xx"]) == [1.0]
    assert rewards[2].fn(prompts=["p", "p"], completions=["ab", "b"]) == [3.0, 2.0]
    assert rewards[2].fn.__name__ == "score_first_letter"  # TRL logs rewards/<name>/mean


@pytest.mark.parametrize("entries,message", [
    (["mypkg.rewards.score"], "reward 'mypkg.rewards.score' (algorithm.rewards.0) cannot be imported"),
    (["test_rewards.missing"], "reward 'test_rewards.missing' (algorithm.rewards.0) cannot be imported"),
    (["acuracy"], "unknown reward 'acuracy'"),
    (["test_rewards.NOT_CALLABLE"], "not a callable"),
    (["test_rewards.no_kwargs"], "must accept **kwargs"),
    ([{"_target_": "test_rewards.score_first_letter", "bonnus": 1}], "does not take the keyword argument 'bonnus'"),
    ([{"weight": 1}], "mapping with _target_"),
    ([{"_target_": "accuracy", "weight": "high"}], "algorithm.rewards.0.weight"),
    ([], "'algorithm.rewards' is empty"),
])
def test_resolve_errors_name_the_reward(entries, message):
    with pytest.raises(ConfigError) as err:
        resolve(entries)
    assert message in str(err.value)


def test_returned_values_are_checked_naming_the_reward():
    assert check_values("r", np.array([1, 0.5]), 2) == [1.0, 0.5]
    assert check_values("r", [None, True], 2) == [None, 1.0]
    with pytest.raises(ConfigError, match="reward 'r' returned 1 values for 2 completions"):
        check_values("r", [1.0], 2)
    with pytest.raises(ConfigError, match="reward 'r' returned a non-number at position 1: 'good'"):
        check_values("r", [1.0, "good"], 2)
    with pytest.raises(ConfigError, match="reward 'r' returned float"):
        check_values("r", 0.5, 2)
