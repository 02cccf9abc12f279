"""MMLU by log-likelihood (`evaluation.mmlu_protocol: loglikelihood`), lm-evaluation-harness's way: each choice's
letter (` A`, ` B`, ...) scored as the continuation of the row's prompt, the likeliest letter taken as the answer.
Local models only; every checkpoint of model_paths in turn, its scores written beside the others."""
from __future__ import annotations

import json
import sys

import pandas as pd

from fai_rl.errors import ConfigError
from fai_rl.evaluation.benchmarks import mmlu_truth
from fai_rl.inference import prompts
from fai_rl.inference.local_engine import LocalEngine
from fai_rl.inference.run import column, labels
from fai_rl.models.loglikelihood import continuation_logprobs

SCORES = "choice_logprobs"  # per row: the log-probability of each choice's letter, in choice order


def choices_of(recipe, row: dict) -> list:
    """The row's options: its first list-valued prompt column (MMLU's `choices`)."""
    found = next((row[c] for c in recipe.dataset_columns if isinstance(row[c], list)), None)
    if not found:
        raise ConfigError(f"{recipe.key('mmlu_protocol')}: loglikelihood scores the options of a list column in "
                          f"{recipe.key('dataset_columns')} (MMLU's choices); none of "
                          f"{', '.join(recipe.dataset_columns)} holds a list")
    return found


def letter_after(context: str, letter: str) -> str:
    """A choice's continuation: ' A' after the prompt, as lm-eval's `Answer: A`; 'A' when the prompt already ends in
    a space or newline."""
    return letter if context[-1:].isspace() else " " + letter


def model_scores(recipe, engine: LocalEngine, contexts: list, options: list) -> list:
    """[(per-choice log-probabilities, or None, and the error)] for every row, batch_size rows a forward pass."""
    results = []
    for start in range(0, len(contexts), recipe.batch_size):
        batch = range(start, min(start + recipe.batch_size, len(contexts)))
        pairs = [(contexts[i], letter_after(contexts[i], prompts.LETTERS[k])) for i in batch
                 for k in range(len(options[i]))]
        try:
            flat = continuation_logprobs(engine.model, engine.tokenizer, pairs, len(pairs))
        except (RuntimeError, ValueError) as err:  # e.g. out of memory: these rows fail, the run goes on
            results += [(None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")] * len(batch)
            continue
        for i in batch:
            results.append((flat[:len(options[i])], None))
            flat = flat[len(options[i]):]
    return results


def loglikelihood_table(recipe) -> tuple:
    """(every row with, per model, its choice log-probabilities, the letter predicted and whether it is right; the
    model labels)."""
    rows = prompts.load_rows(recipe)
    options = [choices_of(recipe, row) for row in rows]
    table = pd.DataFrame(rows)
    models, names = recipe.models, labels(recipe.models)
    several = len(models) > 1
    truths = [mmlu_truth(t) for t in table[recipe.ground_truth_column]]
    for model, name in zip(models, names):
        print(f"{name}: scoring {len(rows)} rows by the log-likelihood of each choice's letter", flush=True)
        engine = LocalEngine(model, recipe)
        contexts = [engine.text(prompts.messages(recipe, row)) for row in rows]
        results = model_scores(recipe, engine, contexts, options)
        predicted = [None if s is None else prompts.LETTERS[max(range(len(s)), key=s.__getitem__)] for s, _ in results]
        table[column(recipe, SCORES, name, several)] = [None if s is None else json.dumps([round(x, 6) for x in s])
                                                        for s, _ in results]
        table[column(recipe, "predicted", name, several)] = predicted
        table[column(recipe, "correct", name, several)] = [p is not None and p == t for p, t in zip(predicted, truths)]
        errors = [e for _, e in results]
        if any(errors):
            table[column(recipe, "error", name, several)] = errors
            failed = [e for e in errors if e]
            print(f"{name}: {len(failed)} of {len(rows)} rows failed (first: {failed[0]})", file=sys.stderr, flush=True)
        del engine  # one model in memory at a time
    return table, names
