"""Resolvers for Optuna studies kept in a local SQLite file, so running the same sweep command continues them."""
from __future__ import annotations

from pathlib import Path


def sqlite_url(path: str) -> str:
    """${fai_rl.sqlite:multirun/optuna.db} -> sqlite:////abs/multirun/optuna.db, its folder created."""
    file = Path(path).expanduser().resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{file}"


def study_seed(base: int, storage, study_name) -> int:
    """The sampler seed: `base` plus the number of trials the study already has.

    A fixed seed makes a new study reproducible; adding the trial count keeps a continued study from
    re-drawing the random start-up points of its first invocation.
    """
    if not storage or not study_name or str(storage) == "None":
        return int(base)
    import optuna  # loaded only for an Optuna study with storage

    try:
        store = optuna.storages.get_storage(str(storage))
        return int(base) + store.get_n_trials(store.get_study_id_from_name(str(study_name)))
    except KeyError:  # no such study yet
        return int(base)
