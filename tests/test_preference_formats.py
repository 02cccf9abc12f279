"""Preference rows in each form people have become prompt/chosen/rejected."""
from __future__ import annotations

from datasets import Dataset

from fai_rl.config.schema import DatasetSpec
from fai_rl.data.preference import normalise, split_text_prompt


def test_hh_rlhf_prompt_is_cut_at_the_last_assistant_marker():
    chosen = "\n\nHuman: Hi there\n\nAssistant: I am fine."
    rejected = "\n\nHuman: Hi there\n\nAssistant: I am bored."
    prompt, c, r = split_text_prompt(chosen, rejected)
    assert prompt == "\n\nHuman: Hi there\n\nAssistant:"
    assert c == " I am fine." and r == " I am bored."


def test_embedded_prompt_without_marker_cuts_at_a_word():
    prompt, c, r = split_text_prompt("The sky is blue", "The sky is bleak")
    assert prompt == "The sky is " and c == "blue" and r == "bleak"


def test_conversational_prompt_split_by_messages():
    user = {"role": "user", "content": "q"}
    ds = Dataset.from_list([{"chosen": [user, {"role": "assistant", "content": "good"}],
                             "rejected": [user, {"role": "assistant", "content": "bad"}]}])
    row = normalise(ds, DatasetSpec(name="x"), "data.datasets")[0]
    assert row["prompt"] == [user]
    assert row["chosen"] == [{"role": "assistant", "content": "good"}]


def test_column_mapping():
    ds = Dataset.from_list([{"q": "p", "good": "a", "bad": "b", "extra": 1}])
    row = normalise(ds, DatasetSpec(name="x", prompt_column="q", chosen_column="good", rejected_column="bad"), "data.datasets")[0]
    assert row == {"prompt": "p", "chosen": "a", "rejected": "b"}
