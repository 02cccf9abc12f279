"""One inference run: the dataset's rows, answered by each model in turn (answers already in the journal are not
asked again), written as a CSV with the input columns and a response column per model."""
from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from fai_rl.inference import prompts
from fai_rl.inference.journal import Journal, journal_path, settings_of
from fai_rl.inference.local_engine import label


def labels(models: list) -> list:
    """Column names for the models: folder names, or the whole reference where two folder names are the same."""
    short = [label(str(m)) for m in models]
    counts = Counter(short)
    return [s if counts[s] == 1 else str(m) for s, m in zip(short, models)]


def engine_for(recipe, model: str, rows: list):
    if recipe.api_endpoint or not (recipe.model_path or recipe.model_paths):
        from fai_rl.inference.api_engine import ApiEngine  # the client library only for API models

        return ApiEngine(recipe)
    if recipe.engine == "vllm":
        from fai_rl.inference.vllm_engine import VllmEngine  # vLLM only when asked for

        return VllmEngine(model, recipe)
    from fai_rl.inference.local_engine import LocalEngine  # torch and the model only for local models

    return LocalEngine(model, recipe, rows)


def column(recipe, name: str, model_label: str, several: bool) -> str:
    return f"{name}_{model_label}" if several else name


def answer_all(recipe, rows: list, chats: list, journal: Journal, model: str, model_label: str) -> list:
    """[(response, error)] for every row from one model."""
    results = [None] * len(rows)
    todo = []
    for i, chat in enumerate(chats):
        saved = journal.answer(model_label, chat)
        if saved is not None:
            results[i] = (saved, None)
        else:
            todo.append((i, chat))
    print(f"{model_label}: {len(rows) - len(todo)} of {len(rows)} rows already answered, {len(todo)} to ask",
          flush=True)
    if todo:
        engine = engine_for(recipe, model, rows)

        def record(row, response, error):
            journal.record(model_label, chats[row], response, error)
            results[row] = (response, error)

        engine.answer(todo, record)
    return results


def run_inference(recipe, write: bool = True) -> tuple:
    """(the answers table, the model labels), written to recipe.output_file when `write`; failures counted on
    stderr."""
    rows = prompts.load_rows(recipe)
    chats = [prompts.messages(recipe, row) for row in rows]
    journal = Journal(journal_path(recipe.output_file), settings_of(recipe))
    models, names = recipe.models, labels(recipe.models)
    several = len(models) > 1
    table = pd.DataFrame([prompts.shown(recipe, row) for row in rows])
    for model, name in zip(models, names):
        results = answer_all(recipe, rows, chats, journal, model, name)
        table[column(recipe, recipe.response_column, name, several)] = [r for r, _ in results]
        errors = [e for _, e in results]
        if any(errors):
            table[column(recipe, "error", name, several)] = errors
            failed = [e for e in errors if e]
            print(f"{name}: {len(failed)} of {len(rows)} rows failed (first: {failed[0]}); rerun to ask them again",
                  file=sys.stderr, flush=True)
    if write:
        write_csv(table, recipe.output_file)
    return table, names


def write_csv(table, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)  # text quoted: a lone \r in an answer stays
    print(f"{len(table)} rows written to {path}", flush=True)


def failed_rows(table) -> int:
    return int(sum(table[c].notna().sum() for c in table.columns if c == "error" or c.startswith("error_")))
