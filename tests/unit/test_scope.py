"""Given a deployment's scope, images are kept or left alone by name, pipeline and tag, and
the opt-out tag always wins."""

from __future__ import annotations

from typing import Any

import pytest

from image_retrier.scope import Scope, name_matches
from tests.conftest import load_image

IMAGE = load_image("web-server-distribution-timed-out.json")["image"]
PIPELINE = IMAGE["sourcePipelineArn"]


def _image(**changes: Any) -> dict[str, Any]:
    return {**IMAGE, **changes}


@pytest.mark.parametrize(
    ("name", "pattern", "matches"),
    [
        ("web-server", "web-*", True),
        ("web-server", "web-", True),
        ("web-server", "WEB-SERVER", True),
        ("web-server", "batch-*", False),
        ("web-server", "web-server-?", False),
        ("web-server-2", "web-server-?", True),
        ("api", "web", False),
    ],
)
def test_names_match_as_globs_or_prefixes(name: str, pattern: str, matches: bool) -> None:
    assert name_matches(name, pattern) is matches


@pytest.mark.parametrize(
    ("scope", "image", "reason"),
    [
        (Scope(), _image(), None),
        (Scope(include_image_names=("web-*",)), _image(), None),
        (Scope(include_image_names=("batch-*",)), _image(), "not_included_by_image_name"),
        (Scope(exclude_image_names=("web-server",)), _image(), "excluded_by_image_name"),
        (Scope(include_pipeline_arns=(PIPELINE,)), _image(), None),
        (Scope(include_pipeline_arns=("arn:aws:imagebuilder:*:*:image-pipeline/web-*",)),
         _image(), None),
        (Scope(include_pipeline_arns=("arn:aws:imagebuilder:*:*:image-pipeline/batch-*",)),
         _image(), "not_included_by_pipeline"),
        (Scope(exclude_pipeline_arns=(PIPELINE,)), _image(), "excluded_by_pipeline"),
        (Scope(include_tags=("team=platform",)), _image(), None),
        (Scope(include_tags=("team=data",)), _image(), "not_included_by_tag"),
        (Scope(exclude_tags=("team=platform",)), _image(), "excluded_by_tag"),
        (Scope(), _image(tags={"auto-retry": "false"}), "opted_out_by_tag"),
        (Scope(opt_out_tag="retry=never"), _image(tags={"retry": "never"}), "opted_out_by_tag"),
        (Scope(), _image(tags={"auto-retry": "true"}), None),
    ],
)  # fmt: skip
def test_scope_table(scope: Scope, image: dict[str, Any], reason: str | None) -> None:
    assert scope.check(image) == reason


def test_names_are_matched_in_the_form_the_image_arn_gives_them() -> None:
    # Image Builder lowercases names in ARNs and turns spaces into hyphens; the rule's filter
    # sees that form, so the function must too.
    image = _image(name="Web Server")

    assert Scope(exclude_image_names=("web-server",)).check(image) == "excluded_by_image_name"
    assert Scope(include_image_names=("web-*",)).check(image) is None


def test_pipeline_arns_are_compared_ignoring_case() -> None:
    scope = Scope(exclude_pipeline_arns=(PIPELINE.replace("web-server", "Web-Server"),))
    assert scope.check(_image()) == "excluded_by_pipeline"


def test_the_opt_out_tag_beats_every_include() -> None:
    scope = Scope(
        include_image_names=("web-server",),
        include_pipeline_arns=(PIPELINE,),
        include_tags=("team=platform",),
    )
    image = _image(tags={"team": "platform", "auto-retry": "false"})

    assert scope.check(image) == "opted_out_by_tag"


def test_scope_reads_the_json_the_stack_writes() -> None:
    scope = Scope.from_json('{"include_image_names": ["web-*"], "opt_out_tag": "x=y"}')
    assert scope == Scope(include_image_names=("web-*",), opt_out_tag="x=y")
