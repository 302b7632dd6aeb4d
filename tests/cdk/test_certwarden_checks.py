"""CertWardenChecks: each rule as a pure function on dicts, then one synth through the real
registration (``apply_compliance_checks``) with a non-compliant and a compliant stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_acmpca as acmpca
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch

from certwarden_cdk.compliance import RULE_PACKS, acknowledge, compliance_packs
from certwarden_cdk.compliance.certwarden_checks import PACK_NAME, RULES, CertWardenChecks
from certwarden_cdk.compliance.rules.acm_key_algorithm import check_acm_key_algorithm
from certwarden_cdk.compliance.rules.acm_validation import check_acm_validation
from certwarden_cdk.compliance.rules.days_to_expiry_alarm import check_days_to_expiry_alarm
from certwarden_cdk.compliance.rules.pca_algorithms import check_pca_algorithms
from certwarden_cdk.compliance.rules.pca_crl import check_pca_crl
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy
from tests.nag_helpers import nag_findings, new_app

CERT = "AWS::CertificateManager::Certificate"
ALARM = "AWS::CloudWatch::Alarm"
CA = "AWS::ACMPCA::CertificateAuthority"
CA_CERT = "AWS::ACMPCA::Certificate"
GOOD_CRL = {
    "CrlConfiguration": {
        "Enabled": True,
        "ExpirationInDays": 7,
        "S3BucketName": "crl-bucket",
        "S3ObjectAcl": "BUCKET_OWNER_FULL_CONTROL",
    }
}
DTE = {"Namespace": "AWS/CertificateManager", "MetricName": "DaysToExpiry"}
GOOD_ALARM = {**DTE, "Period": 86400, "Statistic": "Minimum", "TreatMissingData": "breaching"}


# -- the pure rules --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"KeyAlgorithm": "EC_prime256v1"}, []),
        ({"KeyAlgorithm": "EC_secp384r1"}, []),
        ({}, []),  # absent = RSA_2048
        ({"KeyAlgorithm": "RSA_4096", "CertificateAuthorityArn": "arn:pca"}, []),
        ({"KeyAlgorithm": "RSA_1024"}, ["KeyAlgorithm is 'RSA_1024'"]),
        ({"KeyAlgorithm": "RSA_1024", "CertificateAuthorityArn": "arn:pca"}, ["'RSA_1024'"]),
        ({"KeyAlgorithm": "RSA_4096"}, ["allowed for a public certificate"]),
        ({"KeyAlgorithm": {"Ref": "Algo"}}, ["a non-literal value"]),
    ],
)
def test_acm_key_algorithm(props: dict[str, Any], expected: list[str]) -> None:
    problems = check_acm_key_algorithm(CERT, props, DEFAULT_POLICY)
    assert problems is not None
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem
        assert "RSA_2048, EC_prime256v1, EC_secp384r1" in problem or "private" in problem
    assert check_acm_key_algorithm(ALARM, props, DEFAULT_POLICY) is None


def test_acm_key_algorithm_follows_policy() -> None:
    strict = CompliancePolicy(min_ec_bits=384, default_key_algorithm="EC_secp384r1")
    assert check_acm_key_algorithm(CERT, {"KeyAlgorithm": "EC_prime256v1"}, strict)
    assert check_acm_key_algorithm(CERT, {"KeyAlgorithm": "EC_secp384r1"}, strict) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"ValidationMethod": "DNS"}, []),
        ({"ValidationMethod": "DNS", "CertificateTransparencyLoggingPreference": "ENABLED"}, []),
        ({"ValidationMethod": "EMAIL"}, ["ValidationMethod is 'EMAIL'; allowed: 'DNS'"]),
        ({}, ["ValidationMethod is absent (CloudFormation then uses EMAIL)"]),
        (
            {"ValidationMethod": "DNS", "CertificateTransparencyLoggingPreference": "DISABLED"},
            ["CertificateTransparencyLoggingPreference is 'DISABLED'"],
        ),
    ],
)
def test_acm_validation(props: dict[str, Any], expected: list[str]) -> None:
    problems = check_acm_validation(CERT, props, DEFAULT_POLICY)
    assert problems is not None
    assert [p[: len(e)] for p, e in zip(problems, expected, strict=True)] == expected
    private = {"CertificateAuthorityArn": "arn:pca", **props}
    assert check_acm_validation(CERT, private, DEFAULT_POLICY) is None


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (GOOD_ALARM, []),
        ({**GOOD_ALARM, "Period": 3600}, ["Period is 3600; required: 86400"]),
        ({**GOOD_ALARM, "Statistic": "Average"}, ["Statistic is 'Average'"]),
        (
            {k: v for k, v in GOOD_ALARM.items() if k != "Statistic"}
            | {"ExtendedStatistic": "p10"},
            ["Statistic is 'p10'"],
        ),
        (
            {**GOOD_ALARM, "TreatMissingData": "notBreaching"},
            ["TreatMissingData is 'notBreaching'"],
        ),
        (
            {k: v for k, v in GOOD_ALARM.items() if k != "TreatMissingData"},
            ["TreatMissingData is absent (CloudWatch then uses 'missing')"],
        ),
        (
            {
                "Metrics": [
                    {"Id": "e", "Expression": "m1"},
                    {"Id": "m1", "MetricStat": {"Metric": DTE, "Period": 300, "Stat": "Maximum"}},
                ],
                "TreatMissingData": "breaching",
            },
            ["Metrics[1].MetricStat.Period is 300", "Metrics[1].MetricStat.Stat is 'Maximum'"],
        ),
    ],
)
def test_days_to_expiry_alarm(props: dict[str, Any], expected: list[str]) -> None:
    problems = check_days_to_expiry_alarm(ALARM, props, DEFAULT_POLICY)
    assert problems is not None
    assert [p[: len(e)] for p, e in zip(problems, expected, strict=True)] == expected


def test_days_to_expiry_alarm_ignores_other_alarms() -> None:
    other = {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Period": 60}
    assert check_days_to_expiry_alarm(ALARM, other, DEFAULT_POLICY) is None
    assert check_days_to_expiry_alarm(CERT, GOOD_ALARM, DEFAULT_POLICY) is None


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"RevocationConfiguration": GOOD_CRL}, []),
        ({"UsageMode": "SHORT_LIVED_CERTIFICATE"}, None),
        ({}, ["RevocationConfiguration.CrlConfiguration.Enabled is not true"]),
        (
            {"RevocationConfiguration": {"CrlConfiguration": {"Enabled": True}}},
            [
                "RevocationConfiguration.CrlConfiguration.S3ObjectAcl is absent (ACM PCA then "
                "uses PUBLIC_READ); required: 'BUCKET_OWNER_FULL_CONTROL'",
                "RevocationConfiguration.CrlConfiguration.ExpirationInDays is None; allowed: 1..7",
            ],
        ),
        (
            {
                "RevocationConfiguration": {
                    "CrlConfiguration": {
                        **GOOD_CRL["CrlConfiguration"],
                        "S3ObjectAcl": "PUBLIC_READ",
                        "ExpirationInDays": 30,
                    }
                }
            },
            [
                "RevocationConfiguration.CrlConfiguration.S3ObjectAcl is 'PUBLIC_READ'",
                "RevocationConfiguration.CrlConfiguration.ExpirationInDays is 30; allowed: 1..7",
            ],
        ),
    ],
)
def test_pca_crl(props: dict[str, Any], expected: list[str] | None) -> None:
    problems = check_pca_crl(CA, props, DEFAULT_POLICY)
    if expected is None:
        assert problems is None
        return
    assert problems is not None
    assert [p[: len(e)] for p, e in zip(problems, expected, strict=True)] == expected
    assert check_pca_crl(CERT, props, DEFAULT_POLICY) is None


@pytest.mark.parametrize(
    ("resource_type", "props", "expected"),
    [
        (CA, {"KeyAlgorithm": "RSA_4096", "SigningAlgorithm": "SHA512WITHRSA"}, []),
        (CA, {"KeyAlgorithm": "EC_secp384r1", "SigningAlgorithm": "SHA384WITHECDSA"}, []),
        (
            CA,
            {"KeyAlgorithm": "RSA_4096", "SigningAlgorithm": "SHA256WITHECDSA"},
            ["SigningAlgorithm is 'SHA256WITHECDSA'; allowed for RSA keys: SHA256WITHRSA"],
        ),
        (
            CA,
            {"KeyAlgorithm": "SM2", "SigningAlgorithm": "SM3WITHSM2"},
            ["KeyAlgorithm is 'SM2'; allowed by the policy", "SigningAlgorithm is 'SM3WITHSM2'"],
        ),
        (CA_CERT, {"SigningAlgorithm": "SHA256WITHRSA"}, []),
        (CA_CERT, {"SigningAlgorithm": "SHA1WITHRSA"}, ["SigningAlgorithm is 'SHA1WITHRSA'"]),
    ],
)
def test_pca_algorithms(resource_type: str, props: dict[str, Any], expected: list[str]) -> None:
    problems = check_pca_algorithms(resource_type, props, DEFAULT_POLICY)
    assert problems is not None
    assert [p[: len(e)] for p, e in zip(problems, expected, strict=True)] == expected
    assert check_pca_algorithms(ALARM, props, DEFAULT_POLICY) is None


def test_pack_is_registered_with_the_others() -> None:
    assert PACK_NAME in RULE_PACKS
    packs = compliance_packs(cdk.App())
    assert [p.name for p in packs] == list(RULE_PACKS)
    assert isinstance(packs[-1], CertWardenChecks)
    assert sorted(r.rule_id for r in RULES) == ["ACM1", "ACM2", "CW1", "PCA1", "PCA2"]


# -- one synth: a misconfigured user stack and a compliant one --------------------------------
def _ca(scope: cdk.Stack, id: str, **overrides: Any) -> acmpca.CfnCertificateAuthority:
    props: dict[str, Any] = {
        "key_algorithm": "RSA_4096",
        "signing_algorithm": "SHA512WITHRSA",
        "subject": acmpca.CfnCertificateAuthority.SubjectProperty(common_name="Example Root"),
        "type": "ROOT",
        "revocation_configuration": acmpca.CfnCertificateAuthority.RevocationConfigurationProperty(
            crl_configuration=acmpca.CfnCertificateAuthority.CrlConfigurationProperty(
                enabled=True,
                expiration_in_days=7,
                s3_bucket_name="crl-bucket-example",
                s3_object_acl="BUCKET_OWNER_FULL_CONTROL",
            )
        ),
        **overrides,
    }
    return acmpca.CfnCertificateAuthority(scope, id, **props)


def _alarm(scope: cdk.Stack, id: str, period: cdk.Duration) -> cloudwatch.Alarm:
    metric = cloudwatch.Metric(
        namespace="AWS/CertificateManager",
        metric_name="DaysToExpiry",
        dimensions_map={"CertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/x"},
        statistic="Minimum",
        period=period,
    )
    return metric.create_alarm(
        scope,
        id,
        threshold=30,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
    )


class Synth:
    def __init__(self) -> None:
        from certwarden_cdk.compliance import apply_compliance_checks

        self.app = new_app()
        bad = cdk.Stack(self.app, "Bad")
        acm.CfnCertificate(
            bad,
            "WeakKey",
            domain_name="example.org",
            key_algorithm="RSA_1024",
            validation_method="DNS",
        )
        acm.CfnCertificate(bad, "EmailValidated", domain_name="example.org")
        escape_hatch = acm.CfnCertificate(
            bad, "OverriddenCt", domain_name="example.org", validation_method="DNS"
        )
        escape_hatch.add_property_override("CertificateTransparencyLoggingPreference", "DISABLED")
        _alarm(bad, "HourlyAlarm", cdk.Duration.hours(1))
        _ca(bad, "PublicCrl", revocation_configuration=None)
        _ca(bad, "WeakCa", key_algorithm="RSA_4096", signing_algorithm="SHA256WITHECDSA")
        good = cdk.Stack(self.app, "Good")
        acm.Certificate(
            good,
            "Cert",
            domain_name="example.org",
            validation=acm.CertificateValidation.from_dns(),
            key_algorithm=acm.KeyAlgorithm.EC_PRIME256_V1,
        )
        _alarm(good, "DailyAlarm", cdk.Duration.days(1))
        _ca(good, "Root")
        acked = acm.CfnCertificate(
            good, "AckedEmail", domain_name="example.org", validation_method="EMAIL"
        )
        acknowledge(acked, "CertWarden-ACM2", "test: acknowledged on this one resource only")
        apply_compliance_checks(self.app)
        with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
            self.app.synth()
        self.message = str(failure.value)
        report = json.loads(Path(self.app.outdir, "validation-report.json").read_text())
        self.violations: dict[str, dict[str, Any]] = {}
        for plugin in report["pluginReports"]:
            if plugin["pluginName"] == PACK_NAME:
                assert "error" not in plugin.get("metadata", {})
                for violation in plugin["violations"]:
                    for construct in violation["violatingConstructs"]:
                        self.violations[
                            f"{violation['ruleName']} at {construct['constructPath']}"
                        ] = violation


@pytest.fixture(scope="module")
def synth() -> Synth:
    return Synth()


def test_misconfigured_stack_fails_with_each_rule(synth: Synth) -> None:
    assert sorted(synth.violations) == [
        "CertWarden-ACM1 at Bad/WeakKey",
        "CertWarden-ACM2 at Bad/EmailValidated",
        "CertWarden-ACM2 at Bad/OverriddenCt",  # escape-hatch overrides are checked as deployed
        "CertWarden-CW1 at Bad/HourlyAlarm/Resource",
        "CertWarden-PCA1 at Bad/PublicCrl",
        "CertWarden-PCA2 at Bad/WeakCa",
    ]
    assert all(v["severity"] == "error" for v in synth.violations.values())


def test_messages_name_the_property_and_the_allowed_values(synth: Synth) -> None:
    def description(key: str) -> str:
        return str(synth.violations[key]["description"])

    assert "KeyAlgorithm is 'RSA_1024'" in description("CertWarden-ACM1 at Bad/WeakKey")
    assert "RSA_2048, EC_prime256v1, EC_secp384r1" in description("CertWarden-ACM1 at Bad/WeakKey")
    assert "ValidationMethod is absent" in description("CertWarden-ACM2 at Bad/EmailValidated")
    assert "Period is 3600; required: 86400" in description(
        "CertWarden-CW1 at Bad/HourlyAlarm/Resource"
    )
    assert "CrlConfiguration.Enabled is not true" in description("CertWarden-PCA1 at Bad/PublicCrl")
    assert "'SHA256WITHECDSA'" in description("CertWarden-PCA2 at Bad/WeakCa")


def test_synth_error_names_rule_resource_and_acknowledgement(synth: Synth) -> None:
    assert "KeyAlgorithm is 'RSA_1024'" in synth.message
    assert "Bad/WeakKey" in synth.message
    assert "CertWarden::CertWarden-ACM1" in synth.message


def test_compliant_stack_has_no_finding(synth: Synth) -> None:
    assert [k for k in synth.violations if " at Good/" in k] == []


def test_validate_scope_without_synth_renders_properties() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Direct")
    acm.CfnCertificate(
        stack, "Weak", domain_name="example.org", key_algorithm="RSA_1024", validation_method="DNS"
    )
    report = CertWardenChecks().validate_scope(app)
    assert not report.success
    assert [v.rule_name for v in report.violations] == ["CertWarden-ACM1"]


# -- one small stack per rule: the misconfiguration it claims to catch, and the compliant twin -
def _weak_key(stack: cdk.Stack, id: str) -> None:
    acm.CfnCertificate(
        stack, id, domain_name="example.org", key_algorithm="RSA_1024", validation_method="DNS"
    )


def _good_key(stack: cdk.Stack, id: str) -> None:
    acm.CfnCertificate(
        stack, id, domain_name="example.org", key_algorithm="EC_prime256v1", validation_method="DNS"
    )


def _email_validation(stack: cdk.Stack, id: str) -> None:
    acm.CfnCertificate(stack, id, domain_name="example.org", validation_method="EMAIL")


def _hourly_alarm(stack: cdk.Stack, id: str) -> None:
    _alarm(stack, id, cdk.Duration.hours(1))


def _daily_alarm(stack: cdk.Stack, id: str) -> None:
    _alarm(stack, id, cdk.Duration.days(1))


def _public_read_crl(stack: cdk.Stack, id: str) -> None:
    crl = acmpca.CfnCertificateAuthority.CrlConfigurationProperty(
        enabled=True,
        expiration_in_days=7,
        s3_bucket_name="crl-bucket-example",
        s3_object_acl="PUBLIC_READ",
    )
    _ca(
        stack,
        id,
        revocation_configuration=acmpca.CfnCertificateAuthority.RevocationConfigurationProperty(
            crl_configuration=crl
        ),
    )


def _good_ca(stack: cdk.Stack, id: str) -> None:
    _ca(stack, id)


def _weak_signing(stack: cdk.Stack, id: str) -> None:
    _ca(stack, id, signing_algorithm="SHA256WITHECDSA")


@pytest.mark.parametrize(
    ("rule", "misconfigured", "compliant", "resource_path"),
    [
        ("CertWarden-ACM1", _weak_key, _good_key, "Subject"),
        ("CertWarden-ACM2", _email_validation, _good_key, "Subject"),
        ("CertWarden-CW1", _hourly_alarm, _daily_alarm, "Subject/Resource"),
        ("CertWarden-PCA1", _public_read_crl, _good_ca, "Subject"),
        ("CertWarden-PCA2", _weak_signing, _good_ca, "Subject"),
    ],
)
def test_each_rule_on_its_own_small_stack(
    rule: str,
    misconfigured: Callable[[cdk.Stack, str], None],
    compliant: Callable[[cdk.Stack, str], None],
    resource_path: str,
) -> None:
    def findings(build: Callable[[cdk.Stack, str], None]) -> list[str]:
        app = new_app()
        build(cdk.Stack(app, "Rule"), "Subject")
        return [f for f in nag_findings(app) if f.startswith(f"{PACK_NAME}-")]

    assert findings(misconfigured) == [f"{rule} at Rule/{resource_path}"]
    assert findings(compliant) == []
