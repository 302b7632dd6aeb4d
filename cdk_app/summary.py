"""Summarize a synthesized cloud assembly: environments, stacks, resources, compliance findings.

Reads only what ``cdk synth`` wrote (``manifest.json``, the templates and
``validation-report.json``), so the summary describes the real output, not the intent.
Usage: ``python -m cdk_app.summary cdk.out``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certwarden_cdk.compliance import RULE_PACKS


@dataclass
class StackSummary:
    name: str
    environment: str
    region: str
    resources: int
    acknowledged: Counter[str] = field(default_factory=Counter)


@dataclass
class AssemblySummary:
    stacks: list[StackSummary]
    findings: Counter[str]

    @property
    def environments(self) -> list[str]:
        return sorted({s.environment for s in self.stacks})

    @property
    def acknowledged(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for stack in self.stacks:
            total.update(stack.acknowledged)
        return total


def _pack_of(rule_id: str) -> str:
    for pack in sorted(RULE_PACKS, key=len, reverse=True):
        if rule_id.startswith(pack + "-"):
            return pack
    return rule_id.split("-", 1)[0]


def _environment_of(stack_name: str) -> str:
    name = stack_name.removeprefix("CertWarden-")
    return name.removesuffix("-replica")


def summarize(outdir: str | Path) -> AssemblySummary:
    root = Path(outdir)
    manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text())
    stacks: list[StackSummary] = []
    for name, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = artifact["properties"]["templateFile"]
        template: dict[str, Any] = json.loads((root / template_file).read_text())
        resources: dict[str, Any] = template.get("Resources", {})
        acknowledged: Counter[str] = Counter()
        for resource in resources.values():
            rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            for rule in rules:
                acknowledged[_pack_of(str(rule.get("id", "")))] += 1
        region = str(artifact.get("environment", "aws://unknown/unknown")).rsplit("/", 1)[-1]
        stacks.append(
            StackSummary(
                name=name,
                environment=_environment_of(name),
                region=region,
                resources=len(resources),
                acknowledged=acknowledged,
            )
        )
    findings: Counter[str] = Counter(dict.fromkeys(RULE_PACKS, 0))
    report_path = root / "validation-report.json"
    if report_path.exists():
        report: dict[str, Any] = json.loads(report_path.read_text())
        for plugin in report.get("pluginReports", []):
            for violation in plugin.get("violations", []):
                if violation.get("severity") == "error":
                    findings[str(plugin.get("pluginName"))] += len(
                        violation.get("violatingConstructs", [])
                    )
    return AssemblySummary(stacks=stacks, findings=findings)


def render(summary: AssemblySummary) -> str:
    lines = [
        f"CertWarden synth: {len(summary.environments)} environment(s), "
        f"{len(summary.stacks)} stack(s)"
    ]
    lines.append(f"  {'environment':<14}{'stack':<34}{'region':<16}{'resources':>9}")
    for stack in summary.stacks:
        lines.append(
            f"  {stack.environment:<14}{stack.name:<34}{stack.region:<16}{stack.resources:>9}"
        )
    packs = ", ".join(f"{pack} {count}" for pack, count in sorted(summary.findings.items()))
    lines.append(f"  unacknowledged findings per pack: {packs}")
    acknowledged = summary.acknowledged
    detail = ", ".join(f"{pack} {count}" for pack, count in sorted(acknowledged.items()))
    lines.append(
        f"  acknowledged findings (each with its reason in the template metadata): "
        f"{sum(acknowledged.values())}" + (f" ({detail})" if detail else "")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = args[0] if args else "cdk.out"
    if not (Path(outdir) / "manifest.json").exists():
        print(f"certwarden: no cloud assembly in {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    summary = summarize(outdir)
    print(render(summary))
    evidence = Path(outdir) / "evidence"
    if evidence.is_dir():
        files = sorted(p.name for p in evidence.iterdir())
        print(f"  evidence for auditors in {evidence}/: {', '.join(files)}")
    return 1 if sum(summary.findings.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
