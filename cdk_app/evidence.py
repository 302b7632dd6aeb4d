"""Compliance evidence from a synthesized cloud assembly: the HIPAA controls matrix.

Reads only what the synth wrote (``manifest.json``, the templates, their metadata files,
``validation-report.json`` and each resource's ``Metadata.cdk_nag.rules_to_suppress``) plus the
rule catalogues of the packs that ran: cdk-nag's rules (read from the installed cdk-nag
package, whose HIPAA rule descriptions carry the Security Rule control ids) and CertWarden's
own certificate rules (pure functions, evaluated here on the synthesized resources). So the
matrix describes the deployed templates, never the intent, and cannot drift from them.

For every environment it writes ``<outdir>/evidence/<env>-controls-matrix.md`` and ``.json``,
and the certificate management policy ``<outdir>/evidence/certificate-policy.md``.

Usage: ``python -m cdk_app.evidence cdk.out``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import re
import sys
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from certwarden_runtime.contract import WATCH_HANDLER
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy
from certwarden_runtime.scanner.contract import SCANNER_HANDLER

#: Packs registered by :func:`certwarden_cdk.compliance.compliance_packs` (cdk-nag's share).
NAG_PACKS: tuple[str, ...] = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5")
CERTWARDEN_PACK = "CertWarden"
EVIDENCE_DIR = "evidence"

Resource = Mapping[str, Any]
Predicate = Callable[[Resource, CompliancePolicy], bool]


# -- the safeguards -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Implementation:
    """Resources of ``resource_type`` whose properties satisfy ``predicate`` implement a
    safeguard in the way ``description`` says."""

    resource_type: str
    description: str
    predicate: Predicate = lambda resource, policy: True


@dataclass(frozen=True)
class Safeguard:
    control: str
    title: str
    requirement: str
    implementations: tuple[Implementation, ...]


def _props(resource: Resource) -> Mapping[str, Any]:
    properties = resource.get("Properties", {})
    return properties if isinstance(properties, Mapping) else {}


def _has(*path: str) -> Predicate:
    def predicate(resource: Resource, policy: CompliancePolicy) -> bool:
        value: Any = _props(resource)
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return False
            value = value[key]
        return value not in (None, False, "", [], {})

    return predicate


def _equals(value: object, *path: str) -> Predicate:
    def predicate(resource: Resource, policy: CompliancePolicy) -> bool:
        current: Any = _props(resource)
        for key in path:
            if not isinstance(current, Mapping):
                return False
            current = current.get(key)
        return bool(current == value)

    return predicate


def _bucket_kms(resource: Resource, policy: CompliancePolicy) -> bool:
    rules = _props(resource).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
    return isinstance(rules, list) and any(
        str(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "")).startswith(
            "aws:kms"
        )
        for r in rules
        if isinstance(r, Mapping)
    )


def _bucket_s3_managed(resource: Resource, policy: CompliancePolicy) -> bool:
    rules = _props(resource).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
    return isinstance(rules, list) and any(
        r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") == "AES256"
        for r in rules
        if isinstance(r, Mapping)
    )


def _denies_insecure_transport(document_key: str) -> Predicate:
    def predicate(resource: Resource, policy: CompliancePolicy) -> bool:
        document = _props(resource).get(document_key, {})
        statements = document.get("Statement", []) if isinstance(document, Mapping) else []
        for statement in statements if isinstance(statements, list) else []:
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
                continue
            condition = statement.get("Condition", {})
            secure = condition.get("Bool", {}).get("aws:SecureTransport")
            if str(secure).lower() == "false":
                return True
        return False

    return predicate


def _log_retention_meets_policy(resource: Resource, policy: CompliancePolicy) -> bool:
    days = _props(resource).get("RetentionInDays")
    return days is None or (isinstance(days, int) and days >= policy.log_retention_days)


def _retained(resource: Resource, policy: CompliancePolicy) -> bool:
    return resource.get("DeletionPolicy") == "Retain"


def _runs_handler(handler: str) -> Predicate:
    def predicate(resource: Resource, policy: CompliancePolicy) -> bool:
        return _props(resource).get("Handler") == handler

    return predicate


_certificate_job = _runs_handler(WATCH_HANDLER)
_tls_scanner = _runs_handler(SCANNER_HANDLER)


def _alarm_with_actions(resource: Resource, policy: CompliancePolicy) -> bool:
    return bool(_props(resource).get("AlarmActions")) and _props(resource).get(
        "ActionsEnabled", True
    )


def _crl_or_ocsp(resource: Resource, policy: CompliancePolicy) -> bool:
    revocation = _props(resource).get("RevocationConfiguration", {})
    if not isinstance(revocation, Mapping):
        return False
    crl = revocation.get("CrlConfiguration", {})
    ocsp = revocation.get("OcspConfiguration", {})
    return bool(
        (isinstance(crl, Mapping) and crl.get("Enabled") is True)
        or (isinstance(ocsp, Mapping) and ocsp.get("Enabled") is True)
    )


SAFEGUARDS: tuple[Safeguard, ...] = (
    Safeguard(
        "164.312(a)(2)(iv)",
        "Encryption and decryption",
        "Implement a mechanism to encrypt and decrypt electronic protected health information.",
        (
            Implementation(
                "AWS::KMS::Key",
                "customer-managed KMS key with automatic rotation",
                _equals(True, "EnableKeyRotation"),
            ),
            Implementation(
                "AWS::SNS::Topic", "alert topic encrypted with a KMS key", _has("KmsMasterKeyId")
            ),
            Implementation(
                "AWS::S3::Bucket", "bucket encrypted with a KMS key (SSE-KMS)", _bucket_kms
            ),
            Implementation(
                "AWS::S3::Bucket",
                "bucket encrypted with S3-managed keys (SSE-S3)",
                _bucket_s3_managed,
            ),
            Implementation(
                "AWS::Logs::LogGroup", "log group encrypted with a KMS key", _has("KmsKeyId")
            ),
            Implementation(
                "AWS::CloudTrail::Trail",
                "trail log files encrypted with a KMS key",
                _has("KMSKeyId"),
            ),
            Implementation(
                "AWS::Lambda::Function",
                "function environment variables encrypted with a customer-managed KMS key",
                _has("KmsKeyArn"),
            ),
            Implementation(
                "AWS::ACMPCA::CertificateAuthority",
                "private CA whose keys are generated and kept in AWS-managed HSMs",
            ),
        ),
    ),
    Safeguard(
        "164.312(b)",
        "Audit controls",
        "Implement mechanisms that record and examine activity in systems that contain or use "
        "electronic protected health information.",
        (
            Implementation(
                "AWS::CloudTrail::Trail",
                "CloudTrail trail recording API activity",
                _equals(True, "IsLogging"),
            ),
            Implementation(
                "AWS::Logs::LogGroup",
                "log group retained at least as long as the policy's log retention",
                _log_retention_meets_policy,
            ),
            Implementation(
                "AWS::S3::Bucket", "bucket with server access logging", _has("LoggingConfiguration")
            ),
            Implementation("AWS::EC2::FlowLog", "VPC flow log"),
        ),
    ),
    Safeguard(
        "164.312(c)(1)",
        "Integrity",
        "Implement policies and procedures to protect electronic protected health information "
        "from improper alteration or destruction.",
        (
            Implementation(
                "AWS::CloudTrail::Trail",
                "trail with log file integrity validation (signed digests)",
                _equals(True, "EnableLogFileValidation"),
            ),
            Implementation(
                "AWS::S3::Bucket",
                "bucket with S3 Object Lock (WORM)",
                _equals(True, "ObjectLockEnabled"),
            ),
            Implementation(
                "AWS::S3::Bucket",
                "bucket with versioning",
                _equals("Enabled", "VersioningConfiguration", "Status"),
            ),
            Implementation(
                "AWS::ACMPCA::CertificateAuthority",
                "private CA publishing revocation status (CRL/OCSP)",
                _crl_or_ocsp,
            ),
        ),
    ),
    Safeguard(
        "164.312(e)(1)",
        "Transmission security",
        "Implement technical security measures to guard against unauthorized access to "
        "electronic protected health information that is being transmitted over a network.",
        (
            Implementation(
                "AWS::CertificateManager::Certificate", "ACM certificate for TLS endpoints"
            ),
            Implementation(
                "AWS::ACMPCA::CertificateAuthority",
                "private CA hierarchy (the root signs only the issuing CA, which issues internal "
                "TLS certificates)",
            ),
            Implementation(
                "AWS::EC2::VPCEndpoint", "VPC endpoint keeping AWS API traffic off the internet"
            ),
            Implementation(
                "AWS::EC2::SecurityGroup",
                "security group restricting traffic to HTTPS (functions, VPC endpoints)",
            ),
            Implementation(
                "AWS::Lambda::Function",
                "scheduled TLS endpoint scanner verifying endpoints against the policy "
                f"({DEFAULT_POLICY.min_tls_version} or later only)",
                _tls_scanner,
            ),
        ),
    ),
    Safeguard(
        "164.312(e)(2)(ii)",
        "Encryption (transmission security; cdk-nag's HIPAA pack also maps encryption at rest "
        "here)",
        "Implement a mechanism to encrypt electronic protected health information whenever "
        "deemed appropriate.",
        (
            Implementation(
                "AWS::S3::BucketPolicy",
                "bucket policy denying requests without TLS (aws:SecureTransport)",
                _denies_insecure_transport("PolicyDocument"),
            ),
            Implementation(
                "AWS::SNS::TopicPolicy",
                "topic policy denying publishing without TLS (aws:SecureTransport)",
                _denies_insecure_transport("PolicyDocument"),
            ),
            Implementation(
                "AWS::CertificateManager::Certificate",
                "ACM certificate with a policy-approved key algorithm",
            ),
            Implementation(
                "AWS::SNS::Topic", "alert topic encrypted with a KMS key", _has("KmsMasterKeyId")
            ),
        ),
    ),
    Safeguard(
        "164.308(a)(1)(ii)(D)",
        "Information system activity review",
        "Implement procedures to regularly review records of information system activity, such "
        "as audit logs, access reports, and security incident tracking reports.",
        (
            Implementation(
                "AWS::CloudWatch::Alarm", "alarm notifying an alert topic", _alarm_with_actions
            ),
            Implementation("AWS::Events::Rule", "EventBridge rule (certificate events, schedules)"),
            Implementation("AWS::CloudWatch::Dashboard", "certificate operations dashboard"),
            Implementation(
                "AWS::Lambda::Function",
                "daily certificate operations job (inventory, renewal, tiered alerts, reports)",
                _certificate_job,
            ),
            Implementation(
                "AWS::Lambda::Function",
                "scheduled TLS endpoint scanner (protocols, cipher suites, certificates; reports "
                "and alerts)",
                _tls_scanner,
            ),
            Implementation("AWS::SNS::Subscription", "alert subscription of a responsible person"),
            Implementation(
                "AWS::CloudTrail::Trail",
                "trail delivered to CloudWatch Logs for review",
                _has("CloudWatchLogsLogGroupArn"),
            ),
        ),
    ),
    Safeguard(
        "164.308(a)(7)",
        "Contingency plan",
        "Establish policies and procedures for responding to an emergency that damages systems "
        "containing electronic protected health information (data backup, disaster recovery).",
        (
            Implementation(
                "AWS::S3::Bucket",
                "bucket replicated to another region",
                _has("ReplicationConfiguration"),
            ),
            Implementation(
                "AWS::S3::Bucket",
                "bucket with versioning",
                _equals("Enabled", "VersioningConfiguration", "Status"),
            ),
            Implementation(
                "AWS::S3::Bucket",
                "bucket with S3 Object Lock (WORM)",
                _equals(True, "ObjectLockEnabled"),
            ),
            Implementation("AWS::KMS::Key", "KMS key retained on stack deletion", _retained),
            Implementation(
                "AWS::Logs::LogGroup", "log group retained on stack deletion", _retained
            ),
        ),
    ),
)

#: HIPAA controls of CertWarden's own rules (they carry no control ids of their own),
#: by rule id prefix. A rule module may declare ``CONTROLS`` to override this.
CERTWARDEN_RULE_CONTROLS: Mapping[str, tuple[str, ...]] = {
    "ACM": ("164.312(e)(1)", "164.312(e)(2)(ii)"),
    "PCA": ("164.312(e)(1)", "164.312(e)(2)(ii)", "164.312(c)(1)"),
    "CW": ("164.308(a)(1)(ii)(D)", "164.312(b)"),
}
_DEFAULT_CERTWARDEN_CONTROLS: tuple[str, ...] = ("164.312(e)(1)",)


def control_matches(safeguard: str, control: str) -> bool:
    """``164.308(a)(7)`` covers ``164.308(a)(7)(ii)(A)``; ``164.312(e)(1)`` covers itself."""
    return control == safeguard or control.startswith(safeguard + "(")


# -- rule catalogues ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NagRule:
    """One rule as a pack applies it."""

    pack: str
    rule_id: str
    #: The underlying check (``cloudtrail.CloudTrailEncryptionEnabled``): shared across packs.
    check: str
    info: str
    level: str
    #: CloudFormation types the rule looks at; empty means any type.
    resource_types: frozenset[str]
    controls: tuple[str, ...]
    #: CertWarden's rules are evaluated here; ``None`` for cdk-nag's.
    evaluate: Callable[[str, Mapping[str, Any]], list[str] | None] | None = None


_STRING = r"'((?:[^'\\]|\\.)*)'"
_APPLY_RULE = re.compile(r"this\.applyRule\(\{(.*?)\}\);", re.S)
_REQUIRE = re.compile(r'const (\w+) = require\("([^"]+)"\);')
_INSTANCEOF = re.compile(r"instanceof (\w+)\.Cfn(\w+)")
_RESOURCE_TYPE_LITERAL = re.compile(r"cfnResourceType === '([^']+)'")
_CONTROLS = re.compile(r"\(Control IDs?: (.*)\)\.?\s*$", re.S)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _cfn_types(rule_source: str) -> frozenset[str]:
    """CloudFormation types a cdk-nag rule checks, from its ``instanceof aws_x.CfnY`` tests."""
    modules = dict(_REQUIRE.findall(rule_source))
    types: set[str] = set(_RESOURCE_TYPE_LITERAL.findall(rule_source))
    for alias, name in _INSTANCEOF.findall(rule_source):
        module = modules.get(alias, "")
        if module.startswith("aws-cdk-lib/aws-"):
            types.add(f"{module.removeprefix('aws-cdk-lib/aws-')}::{name}")
    return frozenset(types)


def _matches_type(pattern: str, resource_type: str) -> bool:
    """``s3::Bucket`` (module form) or ``AWS::S3::Bucket`` (literal) against a real type."""
    if pattern.count("::") == 2:
        return pattern == resource_type
    service, _, name = pattern.partition("::")
    parts = resource_type.split("::")
    return len(parts) == 3 and parts[1].lower() == service.replace("-", "") and parts[2] == name


def parse_controls(info: str) -> tuple[str, ...]:
    """``... - (Control IDs: 164.308(a)(3)(ii)(A), 164.312(b)).`` -> the ids."""
    match = _CONTROLS.search(info)
    if not match:
        return ()
    return tuple(c.strip() for c in match.group(1).split(",") if c.strip())


def _nag_bundle() -> Path:
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("cdk-nag is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "_jsii"
    bundles = sorted(folder.glob("cdk-nag@*.jsii.tgz"))
    if not bundles:
        raise FileNotFoundError(f"no cdk-nag bundle in {folder}")
    return bundles[-1]


@cache
def nag_catalogue(bundle: Path | None = None) -> tuple[NagRule, ...]:
    """Every rule of :data:`NAG_PACKS` as the installed cdk-nag applies it."""
    path = bundle or _nag_bundle()
    sources: dict[str, str] = {}
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            if (
                member.isfile()
                and member.name.startswith("package/lib/")
                and member.name.endswith(".js")
            ):
                handle = archive.extractfile(member)
                if handle is not None:
                    sources[member.name.removeprefix("package/lib/")] = handle.read().decode()
    rules: list[NagRule] = []
    for name, source in sorted(sources.items()):
        if not name.startswith("packs/"):
            continue
        pack_match = re.search(r"this\.packName = '([^']+)'", source)
        if not pack_match or pack_match.group(1) not in NAG_PACKS:
            continue
        pack = pack_match.group(1)
        rule_modules = {
            alias: module.removeprefix("../rules/")
            for alias, module in _REQUIRE.findall(source)
            if module.startswith("../rules/")
        }
        for block in _APPLY_RULE.findall(source):
            rule_ref = re.search(r"rule: (\w+)\.(\w+)", block)
            info = re.search(r"info: " + _STRING, block)
            if not rule_ref or not info:
                continue
            folder = rule_modules.get(rule_ref.group(1), rule_ref.group(1).removesuffix("_1"))
            check = f"{folder}.{rule_ref.group(2)}"
            suffix = re.search(r"ruleSuffixOverride: " + _STRING, block)
            level = re.search(r"NagMessageLevel\.(\w+)", block)
            text = _unescape(info.group(1))
            rules.append(
                NagRule(
                    pack=pack,
                    rule_id=f"{pack}-{suffix.group(1) if suffix else rule_ref.group(2)}",
                    check=check,
                    info=text,
                    level=(level.group(1) if level else "ERROR").lower(),
                    resource_types=_cfn_types(
                        sources.get(f"rules/{folder}/{rule_ref.group(2)}.js", "")
                    ),
                    controls=parse_controls(text),
                )
            )
    return tuple(rules)


def certwarden_catalogue(policy: CompliancePolicy = DEFAULT_POLICY) -> tuple[NagRule, ...]:
    """CertWarden's own rules (``certwarden_cdk.compliance.rules``: one module per rule, each
    exposing ``RULE``), bound to ``policy`` so they can be evaluated on template resources."""
    try:
        package = importlib.import_module("certwarden_cdk.compliance.rules")
    except ImportError:
        return ()
    rules: list[NagRule] = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        rule = getattr(module, "RULE", None)
        if rule is None:
            continue
        rule_id = str(rule.rule_id)
        controls = getattr(module, "CONTROLS", None) or next(
            (c for prefix, c in CERTWARDEN_RULE_CONTROLS.items() if rule_id.startswith(prefix)),
            _DEFAULT_CERTWARDEN_CONTROLS,
        )
        check = rule.check

        def evaluate(
            resource_type: str,
            properties: Mapping[str, Any],
            _check: Any = check,
        ) -> list[str] | None:
            result = _check(resource_type, properties, policy)
            return None if result is None else [str(p) for p in result]

        resource_type = getattr(module, "RESOURCE_TYPE", None)
        rules.append(
            NagRule(
                pack=CERTWARDEN_PACK,
                rule_id=f"{CERTWARDEN_PACK}-{rule_id}",
                check=f"certwarden.{module_info.name}",
                info=str(rule.info),
                level="error",
                resource_types=frozenset([resource_type] if isinstance(resource_type, str) else []),
                controls=tuple(controls),
                evaluate=evaluate,
            )
        )
    return tuple(rules)


# -- the assembly -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssemblyResource:
    stack: str
    logical_id: str
    resource_type: str
    path: str
    body: Mapping[str, Any]

    @property
    def acknowledgements(self) -> list[tuple[str, str]]:
        metadata = self.body.get("Metadata", {})
        entries = metadata.get("cdk_nag", {}).get("rules_to_suppress", []) if metadata else []
        return [(str(e.get("id", "")), str(e.get("reason", ""))) for e in entries]

    def ref(self) -> dict[str, str]:
        return {
            "stack": self.stack,
            "logical_id": self.logical_id,
            "type": self.resource_type,
            "path": self.path,
        }


@dataclass
class Environment:
    name: str
    stacks: list[str] = field(default_factory=list)
    resources: list[AssemblyResource] = field(default_factory=list)


@dataclass(frozen=True)
class Violation:
    rule_id: str
    severity: str
    description: str
    construct_path: str


def environment_of(stack_name: str) -> str:
    return stack_name.removeprefix("CertWarden-").removesuffix("-replica")


def _paths_by_logical_id(
    root: Path, artifact: Mapping[str, Any], template: Mapping[str, Any]
) -> dict[str, str]:
    paths: dict[str, str] = {}
    metadata_file = artifact.get("additionalMetadataFile")
    metadata: Mapping[str, Any] = artifact.get("metadata", {}) or {}
    if metadata_file and (root / metadata_file).exists():
        metadata = json.loads((root / metadata_file).read_text())
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:logicalId":
                paths[str(entry.get("data"))] = path.lstrip("/")
    for logical_id, resource in template.get("Resources", {}).items():
        cdk_path = resource.get("Metadata", {}).get("aws:cdk:path") if resource else None
        if cdk_path:
            paths[logical_id] = str(cdk_path)
    return paths


def read_assembly(outdir: str | Path) -> dict[str, Environment]:
    """The assembly's stacks and resources, grouped by environment."""
    root = Path(outdir)
    manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text())
    environments: dict[str, Environment] = {}
    for name, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template: dict[str, Any] = json.loads(
            (root / artifact["properties"]["templateFile"]).read_text()
        )
        paths = _paths_by_logical_id(root, artifact, template)
        env = environments.setdefault(environment_of(name), Environment(environment_of(name)))
        env.stacks.append(name)
        for logical_id, body in sorted(template.get("Resources", {}).items()):
            env.resources.append(
                AssemblyResource(
                    stack=name,
                    logical_id=logical_id,
                    resource_type=str(body.get("Type", "")),
                    path=paths.get(logical_id, f"{name}/{logical_id}"),
                    body=body,
                )
            )
    return environments


def read_violations(outdir: str | Path) -> list[Violation]:
    report_path = Path(outdir) / "validation-report.json"
    if not report_path.exists():
        return []
    report: dict[str, Any] = json.loads(report_path.read_text())
    return [
        Violation(
            rule_id=str(v.get("ruleName", "")),
            severity=str(v.get("severity", "")),
            description=str(v.get("description", "")),
            construct_path=str(c.get("constructPath", "")),
        )
        for plugin in report.get("pluginReports", [])
        for v in plugin.get("violations", [])
        for c in v.get("violatingConstructs", [])
    ]


def bare_rule_id(ack_id: str) -> str:
    """``CloudFormation-Validate::F3002`` -> ``F3002``; a granular id such as
    ``AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]`` keeps its ``::`` inside the brackets."""
    separator = ack_id.find("::")
    bracket = ack_id.find("[")
    if separator < 0 or 0 <= bracket < separator:
        return ack_id
    return ack_id[separator + 2 :]


def _acknowledged(rule_id: str, acknowledgements: Iterable[tuple[str, str]]) -> str | None:
    """The reason when ``rule_id`` (or a granular ``rule_id[...]``) is acknowledged."""
    for ack_id, reason in acknowledgements:
        bare = bare_rule_id(ack_id)
        if bare == rule_id or bare.startswith(rule_id + "["):
            return reason if bare == rule_id else f"{bare}: {reason}"
    return None


# -- the matrix ---------------------------------------------------------------------------------
def _evaluate(
    rule: NagRule, resource: AssemblyResource, violations: Sequence[Violation]
) -> dict[str, Any] | None:
    """The status of ``rule`` on ``resource``; ``None`` when the rule does not apply."""
    reason = _acknowledged(rule.rule_id, resource.acknowledgements)
    entry: dict[str, Any] = {**resource.ref()}
    if rule.evaluate is not None:
        problems = rule.evaluate(resource.resource_type, _props(resource.body))
        if problems is None:
            return None
        if problems and reason is None:
            entry.update(status="failed", detail="; ".join(problems))
            return entry
    elif (
        not any(_matches_type(t, resource.resource_type) for t in rule.resource_types)
        and rule.resource_types
    ):
        return None
    reported = [
        v
        for v in violations
        if v.rule_id.split("[", 1)[0] == rule.rule_id and v.construct_path == resource.path
    ]
    if reason is not None:
        entry.update(status="acknowledged", reason=reason)
    elif reported:
        worst = "failed" if any(v.severity == "error" for v in reported) else "warning"
        entry.update(status=worst, detail=reported[0].description)
    else:
        entry.update(status="passed")
    return entry


def _check_entry(
    rule: NagRule, resources: Sequence[AssemblyResource], violations: Sequence[Violation]
) -> dict[str, Any] | None:
    results = [r for r in (_evaluate(rule, res, violations) for res in resources) if r]
    if not results:
        return None
    return {
        "rule": rule.rule_id,
        "pack": rule.pack,
        "check": rule.check,
        "description": rule.info,
        "controls": list(rule.controls),
        "level": rule.level,
        "resources": results,
        "passed": sum(r["status"] == "passed" for r in results),
        "acknowledged": sum(r["status"] == "acknowledged" for r in results),
        "failed": sum(r["status"] in ("failed", "warning") for r in results),
    }


def build_matrix(
    env: Environment,
    violations: Sequence[Violation],
    rules: Sequence[NagRule],
    policy: CompliancePolicy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """The controls matrix of one environment as a JSON-ready mapping."""
    safeguards: list[dict[str, Any]] = []
    for safeguard in SAFEGUARDS:
        implemented: list[dict[str, Any]] = []
        for resource in env.resources:
            for implementation in safeguard.implementations:
                if (
                    resource.resource_type == implementation.resource_type
                    and implementation.predicate(resource.body, policy)
                ):
                    implemented.append({**resource.ref(), "implements": implementation.description})
        checks: list[dict[str, Any]] = []
        tagged = {
            rule.check
            for rule in rules
            if any(control_matches(safeguard.control, c) for c in rule.controls)
        }
        for rule in rules:
            # cdk-nag's packs share checks: an AwsSolutions or NIST rule running a check that
            # HIPAA tags with this control verifies the same property.
            if rule.check not in tagged:
                continue
            check = _check_entry(rule, env.resources, violations)
            if check is not None:
                checks.append(check)
        checks.sort(key=lambda c: (c["pack"], c["rule"]))
        safeguards.append(
            {
                "control": safeguard.control,
                "title": safeguard.title,
                "requirement": safeguard.requirement,
                "resources": implemented,
                "checks": checks,
                "acknowledged_findings": [
                    {
                        "rule": c["rule"],
                        **{k: r[k] for k in ("stack", "logical_id", "type", "path", "reason")},
                    }
                    for c in checks
                    for r in c["resources"]
                    if r["status"] == "acknowledged"
                ],
            }
        )
    known = {rule.rule_id: rule for rule in rules}
    acknowledged: list[dict[str, Any]] = []
    for resource in env.resources:
        for ack_id, reason in resource.acknowledgements:
            bare = bare_rule_id(ack_id)
            known_rule = known.get(bare.split("[", 1)[0])
            if (
                known_rule is not None
                and known_rule.evaluate is None
                and known_rule.resource_types
                and not any(
                    _matches_type(t, resource.resource_type) for t in known_rule.resource_types
                )
            ):
                continue  # inherited from a parent construct; the rule never looks at this type
            acknowledged.append({"rule": ack_id, "reason": reason, **resource.ref()})
    unacknowledged = [
        {
            "rule": v.rule_id,
            "severity": v.severity,
            "path": v.construct_path,
            "description": v.description,
        }
        for v in violations
        if environment_of(v.construct_path.split("/", 1)[0]) == env.name
    ]
    return {
        "environment": env.name,
        "stacks": sorted(env.stacks),
        "packs": sorted({rule.pack for rule in rules}),
        "resources": len(env.resources),
        "safeguards": safeguards,
        "acknowledged_findings": acknowledged,
        "unacknowledged_findings": unacknowledged,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short(description: str) -> str:
    """The description without its (long, NIST) control id list."""
    return _CONTROLS.sub("", description).rstrip(" -.") + "."


def render_markdown(matrix: Mapping[str, Any]) -> str:
    lines = [
        f"# HIPAA Security Rule controls matrix: {matrix['environment']}",
        "",
        "Generated by `python -m cdk_app.evidence` from the synthesized cloud assembly "
        f"(stacks {', '.join('`' + s + '`' for s in matrix['stacks'])}; {matrix['resources']} "
        f"resources; packs {', '.join(matrix['packs'])}). Do not edit: re-run `make synth`.",
        "",
        "| safeguard | resources | checks | passed | acknowledged | failed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for sg in matrix["safeguards"]:
        distinct = {(r["stack"], r["logical_id"]) for r in sg["resources"]}
        lines.append(
            f"| §{sg['control']} {sg['title']} | {len(distinct)} | {len(sg['checks'])} | "
            f"{sum(c['passed'] for c in sg['checks'])} | "
            f"{sum(c['acknowledged'] for c in sg['checks'])} | "
            f"{sum(c['failed'] for c in sg['checks'])} |"
        )
    for sg in matrix["safeguards"]:
        lines += ["", f"## §{sg['control']} {sg['title']}", "", f"> {sg['requirement']}", ""]
        lines.append("### Implemented by")
        lines.append("")
        if sg["resources"]:
            lines += ["| resource | type | stack | how |", "|---|---|---|---|"]
            for r in sg["resources"]:
                lines.append(
                    f"| `{_cell(r['path'])}` | {r['type']} | {r['stack']} | "
                    f"{_cell(r['implements'])} |"
                )
        else:
            lines.append("No resource of this environment implements it.")
        lines += ["", "### Verified by", ""]
        if sg["checks"]:
            lines += [
                "| rule | what it checks | passed | acknowledged | failed |",
                "|---|---|---:|---:|---:|",
            ]
            for c in sg["checks"]:
                lines.append(
                    f"| `{c['rule']}` | {_cell(_short(c['description']))} | {c['passed']} | "
                    f"{c['acknowledged']} | {c['failed']} |"
                )
        else:
            lines.append("No rule of the packs applies to this environment's resources.")
        lines += ["", "### Acknowledged findings", ""]
        if sg["acknowledged_findings"]:
            for f in sg["acknowledged_findings"]:
                lines.append(
                    f"- `{f['rule']}` on `{_cell(f['path'])}` ({f['type']}): {_cell(f['reason'])}"
                )
        else:
            lines.append("None.")
    lines += ["", "## Every acknowledged finding", ""]
    if matrix["acknowledged_findings"]:
        lines += ["| rule | resource | type | reason |", "|---|---|---|---|"]
        for f in matrix["acknowledged_findings"]:
            lines.append(
                f"| `{f['rule']}` | `{_cell(f['path'])}` | {f['type']} | {_cell(f['reason'])} |"
            )
    else:
        lines.append("None.")
    lines += ["", "## Unacknowledged findings", ""]
    if matrix["unacknowledged_findings"]:
        for f in matrix["unacknowledged_findings"]:
            lines.append(
                f"- **{f['severity']}** `{f['rule']}` at `{_cell(f['path'])}`: "
                f"{_cell(f['description'])}"
            )
    else:
        lines.append("None: the synth passed every pack.")
    return "\n".join(lines) + "\n"


def write_evidence(outdir: str | Path, policy: CompliancePolicy = DEFAULT_POLICY) -> list[Path]:
    """Write every environment's matrix (Markdown + JSON) and the policy document."""
    from cdk_app.policy_document import render_policy

    root = Path(outdir)
    rules = (*nag_catalogue(), *certwarden_catalogue(policy))
    violations = read_violations(root)
    target = root / EVIDENCE_DIR
    if target.is_dir():  # an earlier synth's environments must not pass as this one's
        for stale in target.iterdir():
            if stale.is_file():
                stale.unlink()
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, env in sorted(read_assembly(root).items()):
        matrix = build_matrix(env, violations, rules, policy)
        json_path = target / f"{name}-controls-matrix.json"
        json_path.write_text(json.dumps(matrix, indent=2, sort_keys=True) + "\n")
        md_path = target / f"{name}-controls-matrix.md"
        md_path.write_text(render_markdown(matrix))
        written += [md_path, json_path]
    policy_path = target / "certificate-policy.md"
    policy_path.write_text(render_policy(policy))
    written.append(policy_path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = args[0] if args else "cdk.out"
    if not (Path(outdir) / "manifest.json").exists():
        print(f"certwarden: no cloud assembly in {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    written = write_evidence(outdir)
    print(f"CertWarden evidence: {len(written)} file(s) in {Path(outdir) / EVIDENCE_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
