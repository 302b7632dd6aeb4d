"""cfn-lint on every template the app synthesizes: no errors, no warnings; an ignored rule only
on one resource's metadata with its reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from certwarden_cdk._cfn_lint import ignore_cfn_lint_rule

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def _templates(assembly: Path) -> list[Path]:
    templates = sorted(assembly.glob("*.template.json"))
    assert len(templates) >= 4, templates
    return templates


def test_cfn_lint_reports_nothing(synthesized_assembly: Path) -> None:
    result = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", *map(str, _templates(synthesized_assembly))],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_every_ignored_cfn_lint_rule_has_its_reason(synthesized_assembly: Path) -> None:
    ignored = 0
    for template_file in _templates(synthesized_assembly):
        template = json.loads(template_file.read_text())
        assert "cfn-lint" not in template.get("Metadata", {}), "template-wide ignore"
        for logical_id, resource in template["Resources"].items():
            metadata = resource.get("Metadata", {}).get("cfn-lint")
            if not metadata:
                continue
            for rule_id in metadata["config"]["ignore_checks"]:
                ignored += 1
                assert len(metadata["reasons"][rule_id]) >= 20, (logical_id, rule_id)
    assert ignored > 0  # the checker above did look at real ignores


def test_cfn_lint_does_find_a_planted_problem(tmp_path: Path) -> None:
    """The gate can fail: a template with a warning cfn-lint knows (W3005) is reported."""
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "DependsOn": ["Topic"],
                "Properties": {"QueueName": {"Fn::GetAtt": ["Topic", "TopicName"]}},
            },
        }
    }
    path = tmp_path / "planted.template.json"
    path.write_text(json.dumps(template))
    result = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "W3005" in result.stdout


def test_ignore_needs_a_specific_reason() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    resource = cdk.CfnResource(stack, "R", type="AWS::SNS::Topic")
    with pytest.raises(ValueError, match="give a specific reason"):
        ignore_cfn_lint_rule(resource, "W3005", "because")
    ignore_cfn_lint_rule(resource, "W3005", "a reason long enough to say why it is safe")
    ignore_cfn_lint_rule(resource, "W1001", "a second rule on the same resource, kept apart")
    metadata = resource.get_metadata("cfn-lint")
    assert metadata["config"]["ignore_checks"] == ["W3005", "W1001"]
    assert set(metadata["reasons"]) == {"W3005", "W1001"}
