"""docs/config.md is generated from the schema (make docs), and every field it lists carries help text."""
from __future__ import annotations

import dataclasses
import inspect

import pytest
from conftest import REPO

from fai_rl import algorithms
from fai_rl.config import reference, schema

DOCS = REPO / "docs" / "config.md"
DATACLASSES = [cls for _, cls in inspect.getmembers(schema, dataclasses.is_dataclass)] + [
    algorithms.load(trainer).Settings for trainer in algorithms.available()]


def test_config_reference_is_up_to_date():
    assert DOCS.is_file() and DOCS.read_text() == reference.render(), \
        "docs/config.md is stale: run `make docs` and commit it"


def test_check_names_the_make_target(tmp_path, capsys):
    stale = tmp_path / "config.md"
    stale.write_text("old\n")
    assert reference.main(["--check", str(stale)]) == 1
    assert f"{stale} is stale; run make docs" in capsys.readouterr().err
    assert reference.main([str(stale)]) == 0
    assert reference.main(["--check", str(stale)]) == 0


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_field_has_help(cls):
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help", "").strip(), f"{cls.__name__}.{f.name} has no help text"


def test_every_algorithm_and_group_has_its_place():
    text = DOCS.read_text()
    for trainer in algorithms.available():
        assert f"## algorithm: {trainer}" in text
    assert "GSPO (`algorithm=gspo`) is `conf/algorithm/gspo.yaml` over grpo" in text
    assert "| tuned | " in text and "| hardware | " in text
