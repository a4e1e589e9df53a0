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


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        (
            {"name": "s", "steps": []},
            "a scenario in tests/cases/scenarios.json names no image file",
        ),
        ({"name": "s", "image": "x.json", "steps": {}}, 'the scenario\'s "steps"'),
        (
            {"name": "s", "image": "x.json", "steps": [{"delivr": "e.json"}]},
            'step 1 of the scenario in tests/cases/scenarios.json needs "deliver"',
        ),
        (
            {"name": "s", "image": "x.json", "steps": [{"deliver": "e.json", "as": []}]},
            'step 1 of the scenario in tests/cases/scenarios.json needs "deliver"',
        ),
        ([1, 2], "a scenario in tests/cases/scenarios.json names no image file"),
    ],
)
def test_a_scenario_of_the_wrong_shape_is_named_instead_of_a_traceback(
    scenario: Any, error: str
) -> None:
    result = demo.play_scenario(cast(Any, None), scenario)

    assert result.error is not None
    assert result.error.startswith(error)
    assert result.decisions == []


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("[1, 2]", "tests/cases/images/odd.json holds a JSON list, not an object"),
        ('"hello"', "tests/cases/images/odd.json holds a JSON string, not an object"),
        ('{"image": {}}', "tests/cases/images/odd.json has no image.arn"),
    ],
)
def test_an_image_file_of_the_wrong_shape_is_named(
    content: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = tmp_path / "tests" / "cases"
    (cases / "images").mkdir(parents=True)
    (cases / "images" / "odd.json").write_text(content)
    monkeypatch.setattr(demo, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(demo, "CASES", cases)

    result = demo.play_scenario(cast(Any, None), {"name": "o", "image": "odd.json", "steps": []})

    assert result.error == error
