"""PublicCertificate: one synth per module, then template assertions for each security property."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch

from certwarden_cdk.compliance import acknowledge
from certwarden_cdk.public_certificate import PublicCertificate, allowed_public_key_algorithms
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy
from tests.nag_helpers import nag_findings, new_app, template_of

ENV = cdk.Environment(account="111111111111", region="us-east-1")
ZONE: dict[str, Any] = {"hosted_zone_id": "Z0PRODEXAMPLE0001", "hosted_zone_name": "example.org"}


class Built:
    def __init__(self) -> None:
        self.app = new_app()
        self.stack = cdk.Stack(self.app, "PublicCertificateTest", env=ENV)
        self.default = PublicCertificate(
            self.stack,
            "Site",
            domain_names=["example.org", "*.example.org", "www.example.org", "EXAMPLE.org."],
            **ZONE,
        )
        self.rsa = PublicCertificate(
            self.stack,
            "Legacy",
            domain_names=["*.legacy.example.org", "legacy.example.org"],
            key_algorithm="RSA_2048",
            **ZONE,
        )
        self.no_ct = PublicCertificate(
            self.stack,
            "Internal",
            domain_names=["internal.example.org"],
            transparency_logging=False,
            **ZONE,
        )
        acknowledge(
            self.no_ct.certificate.node.default_child,  # type: ignore[arg-type]
            "CertWarden-ACM2",
            "test: an internal host name kept out of public CT logs on purpose",
        )
        self.findings = nag_findings(self.app)
        self.template = template_of(self.app, self.stack)

    def resource(self, construct: PublicCertificate) -> dict[str, Any]:
        logical_id = self.stack.resolve(
            construct.certificate.node.default_child.logical_id  # type: ignore[union-attr]
        )
        resource: dict[str, Any] = self.template["Resources"][logical_id]
        assert resource["Type"] == "AWS::CertificateManager::Certificate"
        return resource

    def certificate(self, construct: PublicCertificate) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def test_nag_clean(built: Built) -> None:
    assert built.findings == []


def test_apex_and_wildcard_share_one_validation_option(built: Built) -> None:
    props = built.certificate(built.default)
    assert props["DomainName"] == "example.org"
    assert props["SubjectAlternativeNames"] == ["*.example.org", "www.example.org"]
    options = props["DomainValidationOptions"]
    assert [o["DomainName"] for o in options] == ["example.org", "www.example.org"]
    # one option per distinct validation name: '*.x' and 'x' validate with the same CNAME
    validation_names = [o["DomainName"].removeprefix("*.") for o in options]
    assert len(validation_names) == len(set(validation_names))
    assert all(o["HostedZoneId"] == "Z0PRODEXAMPLE0001" for o in options)
    # wildcard given first: still one option, for the apex
    legacy = built.certificate(built.rsa)
    assert [o["DomainName"] for o in legacy["DomainValidationOptions"]] == ["legacy.example.org"]


def test_dns_validation_and_ct_logging(built: Built) -> None:
    for construct in (built.default, built.rsa):
        props = built.certificate(construct)
        assert props["ValidationMethod"] == "DNS"
        assert props["CertificateTransparencyLoggingPreference"] == "ENABLED"
        assert all("ValidationDomain" not in o for o in props["DomainValidationOptions"])
    assert built.certificate(built.no_ct)["CertificateTransparencyLoggingPreference"] == (
        "DISABLED"
    )


def test_key_algorithm_in_template(built: Built) -> None:
    assert built.certificate(built.default)["KeyAlgorithm"] == DEFAULT_POLICY.default_key_algorithm
    assert built.certificate(built.default)["KeyAlgorithm"] == "EC_prime256v1"
    assert built.certificate(built.rsa)["KeyAlgorithm"] == "RSA_2048"
    assert built.default.key_algorithm == "EC_prime256v1"


def test_only_certificates_no_lambda_no_inline_policy_no_timestamps(built: Built) -> None:
    types = {r["Type"] for r in built.template["Resources"].values()}
    assert types == {"AWS::CertificateManager::Certificate"}
    tags = built.certificate(built.default)["Tags"]
    assert tags == [{"Key": "Name", "Value": "PublicCertificateTest/Site/Certificate"}]


def test_wildcard_certificates_carry_the_checkov_skip_with_their_names(built: Built) -> None:
    """checkov CKV2_AWS_71 flags wildcard names: a certificate with one asked for it by name,
    so the skip sits on that certificate only, naming the wildcards; its key never leaves ACM."""
    for construct, wildcard in (
        (built.default, "*.example.org"),
        (built.rsa, "*.legacy.example.org"),
    ):
        resource = built.resource(construct)
        [skip] = resource["Metadata"]["checkov"]["skip"]
        assert skip["id"] == "CKV2_AWS_71"
        assert wildcard in skip["comment"]
        assert "not exportable" in skip["comment"]
        assert resource["Properties"].get("CertificateExport", "DISABLED") == "DISABLED"
    assert "checkov" not in built.resource(built.no_ct).get("Metadata", {})


def test_exposed_attributes(built: Built) -> None:
    assert cdk.Token.is_unresolved(built.default.certificate_arn)
    assert built.default.domain_names == ("example.org", "*.example.org", "www.example.org")
    assert built.default.hosted_zone.hosted_zone_id == "Z0PRODEXAMPLE0001"
    metric = built.default.metric_days_to_expiry()
    assert isinstance(metric, cloudwatch.Metric)
    assert metric.namespace == "AWS/CertificateManager"
    assert metric.metric_name == "DaysToExpiry"
    assert metric.period.to_seconds() == 86400
    assert metric.statistic == "Minimum"


def _build(**overrides: Any) -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    props: dict[str, Any] = {"domain_names": ["example.org"], **ZONE, **overrides}
    PublicCertificate(stack, "Cert", **props)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"key_algorithm": "RSA_1024"},
            "key_algorithm 'RSA_1024' is below the compliance policy; allowed: RSA_2048, "
            "EC_prime256v1, EC_secp384r1",
        ),
        ({"key_algorithm": "RSA_4096"}, "'RSA_4096' is not issued by ACM for public"),
        ({"key_algorithm": "DSA_1024"}, "'DSA_1024' is not an ACM key algorithm"),
        ({"domain_names": ["example.com"]}, "'example.com' is outside the hosted zone"),
        ({"domain_names": ["notexample.org"]}, "'notexample.org' is outside the hosted zone"),
        ({"domain_names": ["*.other.com"]}, "outside the hosted zone 'example.org'"),
        ({"domain_names": ["bad_name.example.org"]}, "is not a DNS name"),
        ({"domain_names": []}, "domain_names must name at least one domain"),
        ({"domain_names": "example.org"}, "must be a list of names"),
        ({"domain_names": ["a" * 60 + ".example.org"]}, "at most 64 characters"),
        ({"hosted_zone_id": "/hostedzone/Z123"}, "hosted_zone_id '/hostedzone/Z123'"),
        ({"hosted_zone_name": "example"}, "hosted_zone_name 'example' is not a DNS zone name"),
    ],
)
def test_invalid_props_raise_clear_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _build(**overrides)


def test_policy_drives_allowed_algorithms() -> None:
    strict = CompliancePolicy(min_ec_bits=384, default_key_algorithm="EC_secp384r1")
    assert allowed_public_key_algorithms(strict) == ("RSA_2048", "EC_secp384r1")
    with pytest.raises(ValueError, match="'EC_prime256v1' is below the compliance policy"):
        _build(key_algorithm="EC_prime256v1", policy=strict)


def test_tokens_skip_checks() -> None:
    stack = cdk.Stack(cdk.App(), "Tokens")
    zone_id = cdk.CfnParameter(stack, "ZoneId").value_as_string
    PublicCertificate(
        stack,
        "Cert",
        domain_names=["example.org"],
        hosted_zone_id=zone_id,
        hosted_zone_name="example.org",
    )
