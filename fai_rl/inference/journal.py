"""Answers kept as they arrive (`<output_file>.answers.jsonl`, one JSON line per answer), so a rerun of the same
recipe asks only for what is missing: an answer is reused when its model, prompt and sampling settings match;
a failed row is asked again. No key is ever written here."""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path


def journal_path(output_file: str) -> Path:
    return Path(output_file + ".answers.jsonl")


def settings_of(recipe) -> dict:
    """What changes an answer (never the API key)."""
    keys = ("api_endpoint", "temperature", "top_p", "max_new_tokens", "do_sample")
    settings = {k: getattr(recipe, k) for k in keys}
    if recipe.engine != "transformers":  # only when set: journals written before the key keep their answers
        settings["engine"] = recipe.engine
    return settings


class Journal:
    """Thread-safe append-only record of answers; `answered(label)` reads back the successful ones."""

    def __init__(self, path: Path, settings: dict):
        self.path, self.settings = path, settings
        self.lock = threading.Lock()
        self.saved = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short when the run was killed
                if entry.get("error") is None:
                    self.saved[entry["key"]] = entry["response"]
        path.parent.mkdir(parents=True, exist_ok=True)

    def key(self, label: str, prompt) -> str:
        text = json.dumps([self.settings, label, prompt], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def answer(self, label: str, prompt):
        """The saved answer of `label` to `prompt`, or None."""
        return self.saved.get(self.key(label, prompt))

    def record(self, label: str, prompt, response, error) -> None:
        entry = {"key": self.key(label, prompt), "model": label, "response": response, "error": error}
        with self.lock, open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
        if error is None:
            self.saved[entry["key"]] = response
