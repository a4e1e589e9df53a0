"""Which images a deployment may retry: by image name, pipeline and tag, with an opt-out tag.

The rule's pattern already drops images whose name no include matches; these checks are
the rest, and run after GetImage, before any attempt is spent.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GLOB_CHARACTERS = frozenset("*?[")


def name_matches(name: str, pattern: str) -> bool:
    """A pattern with glob characters is a glob; any other is a prefix. Names are lowercase."""
    name, pattern = name.lower(), pattern.lower()
    if GLOB_CHARACTERS & set(pattern):
        return fnmatch.fnmatchcase(name, pattern)
    return name.startswith(pattern)


@dataclass(frozen=True)
class Scope:
    include_image_names: tuple[str, ...] = ()
    exclude_image_names: tuple[str, ...] = ()
    include_pipeline_arns: tuple[str, ...] = ()
    exclude_pipeline_arns: tuple[str, ...] = ()
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    opt_out_tag: str | None = "auto-retry=false"

    @classmethod
    def from_json(cls, text: str) -> Scope:
        values: dict[str, Any] = json.loads(text) if text else {}
        lists = {key: tuple(value) for key, value in values.items() if isinstance(value, list)}
        return cls(**lists, opt_out_tag=values.get("opt_out_tag", cls.opt_out_tag))

    def check(self, image: Mapping[str, Any]) -> str | None:
        """None when the image is in scope, else the reason it is not."""
        # The ARN's form of the name (lowercase, hyphens for spaces), as the rule's filter sees it.
        name = _name_from_arn(str(image.get("arn", ""))) or str(image.get("name") or "")
        pipeline = str(image.get("sourcePipelineArn") or "").lower()
        tags = {f"{key}={value}".lower() for key, value in (image.get("tags") or {}).items()}

        if self.opt_out_tag and self.opt_out_tag.lower() in tags:
            return "opted_out_by_tag"
        if any(name_matches(name, pattern) for pattern in self.exclude_image_names):
            return "excluded_by_image_name"
        if any(fnmatch.fnmatchcase(pipeline, p.lower()) for p in self.exclude_pipeline_arns):
            return "excluded_by_pipeline"
        if tags & {tag.lower() for tag in self.exclude_tags}:
            return "excluded_by_tag"
        if self.include_image_names and not any(
            name_matches(name, pattern) for pattern in self.include_image_names
        ):
            return "not_included_by_image_name"
        if self.include_pipeline_arns and not any(
            fnmatch.fnmatchcase(pipeline, pattern.lower()) for pattern in self.include_pipeline_arns
        ):
            return "not_included_by_pipeline"
        if self.include_tags and not tags & {tag.lower() for tag in self.include_tags}:
            return "not_included_by_tag"
        return None


def _name_from_arn(image_build_version_arn: str) -> str:
    if ":image/" not in image_build_version_arn:
        return ""
    return image_build_version_arn.split(":image/", 1)[1].split("/", 1)[0]
