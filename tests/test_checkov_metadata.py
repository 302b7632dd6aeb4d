"""checkov exceptions in the synthesized app: each on one resource, each with a specific reason.

checkov itself runs in ``make checkov`` (its own virtual environment, offline); these tests
check what it reads from the templates and the helper that writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from certwarden_cdk._checkov import MIN_REASON_LENGTH, skip_checkov_check


def _templates(assembly: Path) -> list[Path]:
    templates = sorted(assembly.glob("*.template.json"))
    assert len(templates) >= 4, templates
    return templates


def test_every_checkov_skip_is_on_one_resource_with_its_reason(
    synthesized_assembly: Path,
) -> None:
    skipped: list[tuple[str, str, str]] = []
    for template_file in _templates(synthesized_assembly):
        template: dict[str, Any] = json.loads(template_file.read_text())
        assert "checkov" not in template.get("Metadata", {}), f"{template_file.name}: template-wide"
        for logical_id, resource in template["Resources"].items():
            metadata = resource.get("Metadata", {}).get("checkov")
            if metadata is None:
                continue
            assert set(metadata) == {"skip"}, (template_file.name, logical_id, metadata)
            ids = [skip["id"] for skip in metadata["skip"]]
            assert len(ids) == len(set(ids)), (logical_id, ids)
            for skip in metadata["skip"]:
                assert set(skip) == {"id", "comment"}, (logical_id, skip)
                assert len(skip["comment"].strip()) >= 20, (logical_id, skip)
                skipped.append((template_file.name, logical_id, skip["id"]))
    # The checker did look at real skips: the access-log buckets, at least.
    assert any(check == "CKV_AWS_18" for _, _, check in skipped), skipped


def test_no_checkov_config_file_skips_checks_globally() -> None:
    """Skips live in resource metadata only, never in a checkov config file."""
    repo = Path(__file__).resolve().parent.parent
    for name in (".checkov.yaml", ".checkov.yml"):
        assert not (repo / name).exists(), name


def _resource() -> cdk.CfnResource:
    stack = cdk.Stack(cdk.App(), "S")
    return cdk.CfnResource(stack, "R", type="AWS::S3::Bucket")


def test_skip_is_written_where_checkov_reads_it() -> None:
    resource = _resource()
    skip_checkov_check(resource, "CKV_AWS_18", "  a reason long enough to say why it is safe  ")
    skip_checkov_check(resource, "CKV2_AWS_71", "a second check on the same resource, kept apart")
    template = Template.from_stack(cdk.Stack.of(resource)).to_json()
    assert template["Resources"]["R"]["Metadata"]["checkov"] == {
        "skip": [
            {"id": "CKV_AWS_18", "comment": "a reason long enough to say why it is safe"},
            {"id": "CKV2_AWS_71", "comment": "a second check on the same resource, kept apart"},
        ]
    }


def test_skip_merges_with_other_metadata_and_replaces_a_repeated_check() -> None:
    resource = _resource()
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
    resource.add_metadata("checkov", {"skip": [], "note": "kept"})
    skip_checkov_check(resource, "CKV_AWS_18", "first wording of the reason for this check")
    skip_checkov_check(resource, "CKV_AWS_18", "second wording of the reason for this check")
    assert resource.get_metadata("checkov") == {
        "skip": [{"id": "CKV_AWS_18", "comment": "second wording of the reason for this check"}],
        "note": "kept",
    }
    assert resource.get_metadata("cfn-lint") == {"config": {"ignore_checks": ["W3005"]}}


@pytest.mark.parametrize("reason", ["", "because", "   n/a   ", "x" * (MIN_REASON_LENGTH - 1)])
def test_skip_needs_a_specific_reason(reason: str) -> None:
    resource = _resource()
    with pytest.raises(ValueError, match="give a specific reason"):
        skip_checkov_check(resource, "CKV_AWS_18", reason)
    assert resource.get_metadata("checkov") is None


@pytest.mark.parametrize("check_id", ["", "CKV_AWS", "ckv_aws_18", "AwsSolutions-S1", "W3005"])
def test_skip_needs_a_checkov_check_id(check_id: str) -> None:
    with pytest.raises(ValueError, match="checkov check id"):
        skip_checkov_check(_resource(), check_id, "a reason long enough to say why it is safe")
