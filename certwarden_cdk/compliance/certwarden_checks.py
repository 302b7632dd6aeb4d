"""``CertWardenChecks``: CertWarden's own cdk-nag 3 rule pack for ACM, ACM PCA and expiry alarms.

cdk-nag has no rules for ACM or ACM Private CA. This pack runs the pure rules of
:mod:`certwarden_cdk.compliance.rules` on every ``CfnResource`` of the app, like the built-in
packs, so a stack that imports CertWarden's constructs (or builds its own raw
``acm.CfnCertificate``, alarm or CA) and breaks the policy fails ``cdk synth`` with
``CertWarden-<rule>`` findings. Register it with the other packs through
:func:`certwarden_cdk.compliance.apply_compliance_checks`, or alone::

    cdk.Validations.of(app).add_plugins(CertWardenChecks(app))

The rules read each resource's properties from the synthesized template (validation plugins run
after the cloud assembly is written), so escape-hatch overrides are checked as deployed.
Acknowledge a finding on one resource with
``certwarden_cdk.compliance.acknowledge(resource, "CertWarden-ACM2", "<reason>")``.

Subclassing the jsii ``NagPack`` from Python works: the callbacks ``checkResource`` and the
``IApplyRule`` object below are served by the Python runtime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

from .rules import Rule
from .rules.acm_key_algorithm import RULE as ACM_KEY_ALGORITHM
from .rules.acm_validation import RULE as ACM_VALIDATION
from .rules.days_to_expiry_alarm import RULE as DAYS_TO_EXPIRY_ALARM
from .rules.pca_algorithms import RULE as PCA_ALGORITHMS
from .rules.pca_crl import RULE as PCA_CRL

#: The name of the plugin report and the prefix of every rule id (``CertWarden-ACM1``).
PACK_NAME = "CertWarden"

#: Every rule of the pack, in report order.
RULES: tuple[Rule, ...] = (
    ACM_KEY_ALGORITHM,
    ACM_VALIDATION,
    DAYS_TO_EXPIRY_ALARM,
    PCA_CRL,
    PCA_ALGORITHMS,
)
_RESOURCE_TYPES = frozenset(t for rule in RULES for t in rule.resource_types)


@jsii.implements(IApplyRule)
class _AppliedRule:
    """One rule outcome handed to ``NagPack.applyRule`` (which handles acknowledgements)."""

    def __init__(self, rule: Rule, node: cdk.CfnResource, problems: Sequence[str]) -> None:
        self._rule = rule
        self._node = node
        self._problems = list(problems)

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.rule_id

    @property
    def info(self) -> str:
        return " ".join([self._rule.info, *self._problems])

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    def rule(self, node: cdk.CfnResource) -> NagRuleCompliance:
        del node
        return NagRuleCompliance.NON_COMPLIANT if self._problems else NagRuleCompliance.COMPLIANT


class CertWardenChecks(NagPack):
    """CertWarden's synth-time rules (``CertWarden-ACM1``, ``-ACM2``, ``-CW1``, ``-PCA1``,
    ``-PCA2``) as a cdk-nag 3 pack.

    :param scope: the app (or stage) the pack is registered on; needed only for
        ``write_suppressions_to_cloud_formation``.
    :param policy: the compliance policy whose numbers the rules enforce.
        Default: ``DEFAULT_POLICY``.
    :param verbose: add each rule's explanation to its findings. Default: ``True``.
    :param write_suppressions_to_cloud_formation: write acknowledgements into template
        metadata. Default: ``False`` (the built-in packs already do it when asked).
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        policy: CompliancePolicy = DEFAULT_POLICY,
        verbose: bool = True,
        write_suppressions_to_cloud_formation: bool = False,
    ) -> None:
        super().__init__(
            scope,
            verbose=verbose,
            write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation,
        )
        self._pack_name = PACK_NAME
        self._policy = policy
        self._templates: dict[tuple[str, int, int], Mapping[str, Any]] = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def policy(self) -> CompliancePolicy:
        return self._policy

    @jsii.member(jsii_name="checkResource")
    def _check_resource(self, node: cdk.CfnResource) -> None:
        resource_type = node.cfn_resource_type
        if resource_type not in _RESOURCE_TYPES:
            return
        properties = self._properties_of(node)
        for rule in RULES:
            problems = rule.check(resource_type, properties, self._policy)
            if problems is not None:
                self._apply_rule(cast(IApplyRule, _AppliedRule(rule, node, problems)))

    def _properties_of(self, node: cdk.CfnResource) -> Mapping[str, Any]:
        """The resource's ``Properties`` as synthesized (overrides included)."""
        stack = cdk.Stack.of(node)
        logical_id = stack.resolve(node.logical_id)
        stage = cdk.Stage.of(node)
        template_path = Path(stage.outdir if stage else ".", stack.template_file)
        if template_path.is_file():
            resources = self._template(template_path).get("Resources", {})
            if logical_id in resources:
                return dict(resources[logical_id].get("Properties") or {})
        # Called outside a synth (validate_scope on an unsynthesized tree): render directly.
        rendered = stack.resolve(node._render_properties(node._cfn_properties))
        return dict(rendered or {})

    def _template(self, path: Path) -> Mapping[str, Any]:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._templates:
            self._templates[key] = json.loads(path.read_text())
        return self._templates[key]
