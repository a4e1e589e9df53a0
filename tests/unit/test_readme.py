"""The README's configuration table documents every context key with its real default."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.settings import CONTEXT_KEYS, StackSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("key", CONTEXT_KEYS, ids=[key.name for key in CONTEXT_KEYS])
def test_every_context_key_has_a_row_with_its_default(key: object) -> None:
    name = key.name  # type: ignore[attr-defined]
    default = getattr(StackSettings(), key.field)  # type: ignore[attr-defined]
    shown = json.dumps(list(default)) if isinstance(default, tuple) else json.dumps(default)
    row = re.search(rf"^\| `{name}` \| `([^`]*)` \|", README, re.MULTILINE)

    assert row is not None, f"README has no table row for {name}"
    assert row.group(1).replace(" ", "") == shown.strip('"').replace(" ", "")


def test_quick_start_is_exactly_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make \S+", quick_start, re.MULTILINE)
    assert commands[:2] == ["make demo", "make test"]
