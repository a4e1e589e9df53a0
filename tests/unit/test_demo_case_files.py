"""Given a case file the demo cannot read, when the demo plays the scenarios, then it names the
file and what is wrong with it, instead of stopping on a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from localsim import demo


def test_a_scenario_naming_a_missing_image_file_reports_the_file() -> None:
    scenario = {"name": "broken", "image": "no-such-image.json", "steps": []}

    result = demo.play_scenario(cast(Any, None), scenario)

    assert result.error == (
        "tests/cases/images/no-such-image.json cannot be read: No such file or directory"
    )
    assert result.decisions == []


def test_a_case_file_that_is_not_json_is_named_with_the_parse_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = tmp_path / "tests" / "cases"
    (cases / "images").mkdir(parents=True)
    (cases / "images" / "broken.json").write_text('{"image": ')
    monkeypatch.setattr(demo, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(demo, "CASES", cases)

    result = demo.play_scenario(cast(Any, None), {"name": "b", "image": "broken.json", "steps": []})

    assert result.error is not None
    assert result.error.startswith("tests/cases/images/broken.json is not JSON: Expecting value")


def test_unreadable_scenarios_fail_the_demo_with_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "tests" / "cases"
    cases.mkdir(parents=True)
    (cases / "scenarios.json").write_text("not json")
    template = tmp_path / "template.json"
    template.write_text("{}")
    monkeypatch.setattr(demo, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(demo, "CASES", cases)

    with pytest.raises(SystemExit) as exited:
        demo.main(["--template", str(template)])

    assert exited.value.code == 1
    assert capsys.readouterr().err.startswith(
        "error: tests/cases/scenarios.json is not JSON: Expecting value"
    )
