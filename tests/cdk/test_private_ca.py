"""PrivateCertificateAuthority: one synth per module, then the CA's security properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest

from certwarden_cdk.access_logs_bucket import AccessLogsBucket
from certwarden_cdk.private_certificate_authority import PrivateCertificateAuthority
from certwarden_runtime.policy import DEFAULT_POLICY
from tests.nag_helpers import nag_findings, new_app, template_of

ACCOUNT = "111111111111"
REGION = "us-east-1"


@dataclass
class Synth:
    findings: list[str]
    template: dict[str, Any]
    ca: PrivateCertificateAuthority
    stack: cdk.Stack

    def id_of(self, construct: Any) -> str:
        return str(self.stack.resolve(self.stack.get_logical_id(construct)))

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def synth() -> Synth:
    app = new_app()
    stack = cdk.Stack(app, "Pca", env=cdk.Environment(account=ACCOUNT, region=REGION))
    logs = AccessLogsBucket(stack, "AccessLogs")
    ca = PrivateCertificateAuthority(
        stack,
        "PrivateCa",
        common_name="Example Health Root CA",
        organization="Example Health",
        access_logs_bucket=logs.bucket,
    )
    findings = nag_findings(app)
    return Synth(findings, template_of(app, stack), ca, stack)


def test_nag_clean(synth: Synth) -> None:
    assert synth.findings == []


def test_no_inline_policies_or_lambdas(synth: Synth) -> None:
    assert synth.of_type("AWS::IAM::Policy") == {}
    assert synth.of_type("AWS::Lambda::Function") == {}


def test_root_and_issuing_ca_algorithms_and_revocation(synth: Synth) -> None:
    authorities = synth.of_type("AWS::ACMPCA::CertificateAuthority")
    assert set(authorities) == {synth.id_of(synth.ca.root_ca), synth.id_of(synth.ca.issuing_ca)}
    crl_bucket = {"Ref": synth.id_of(synth.ca.crl_bucket.node.default_child)}
    for authority in authorities.values():
        props = authority["Properties"]
        assert props["KeyAlgorithm"] == DEFAULT_POLICY.ca_key_algorithm == "RSA_4096"
        assert props["SigningAlgorithm"] == DEFAULT_POLICY.ca_signing_algorithm == "SHA512WITHRSA"
        revocation = props["RevocationConfiguration"]
        assert revocation["OcspConfiguration"] == {"Enabled": True}
        assert revocation["CrlConfiguration"] == {
            "Enabled": True,
            "ExpirationInDays": DEFAULT_POLICY.crl_validity_days,
            "S3BucketName": crl_bucket,
            "S3ObjectAcl": "BUCKET_OWNER_FULL_CONTROL",
        }
    root = authorities[synth.id_of(synth.ca.root_ca)]["Properties"]
    assert root["Type"] == "ROOT"
    assert root["Subject"] == {
        "CommonName": "Example Health Root CA",
        "Organization": "Example Health",
        "Country": "US",
    }
    assert authorities[synth.id_of(synth.ca.issuing_ca)]["Properties"]["Type"] == "SUBORDINATE"


def test_both_cas_depend_on_the_crl_bucket_policy(synth: Synth) -> None:
    assert synth.ca.crl_bucket.policy is not None
    policy_id = synth.id_of(synth.ca.crl_bucket.policy.node.default_child)
    for authority in synth.of_type("AWS::ACMPCA::CertificateAuthority").values():
        assert policy_id in authority["DependsOn"]


def _template_name(certificate: dict[str, Any]) -> str:
    join = certificate["Properties"]["TemplateArn"]["Fn::Join"][1]
    return str(join[-1]).split("template/")[-1]


def test_activation_chain(synth: Synth) -> None:
    root_id = synth.id_of(synth.ca.root_ca)
    issuing_id = synth.id_of(synth.ca.issuing_ca)
    certificates = synth.of_type("AWS::ACMPCA::Certificate")
    by_template = {_template_name(c): (k, c["Properties"], c) for k, c in certificates.items()}
    assert set(by_template) == {"RootCACertificate/V1", "SubordinateCACertificate_PathLen0/V1"}

    root_cert_id, root_cert, _ = by_template["RootCACertificate/V1"]
    assert root_cert["CertificateAuthorityArn"] == {"Fn::GetAtt": [root_id, "Arn"]}
    assert root_cert["CertificateSigningRequest"] == {
        "Fn::GetAtt": [root_id, "CertificateSigningRequest"]
    }
    assert root_cert["Validity"] == {"Type": "YEARS", "Value": 10}

    sub_cert_id, sub_cert, sub_resource = by_template["SubordinateCACertificate_PathLen0/V1"]
    assert sub_cert["CertificateAuthorityArn"] == {"Fn::GetAtt": [root_id, "Arn"]}  # root signs
    assert sub_cert["CertificateSigningRequest"] == {
        "Fn::GetAtt": [issuing_id, "CertificateSigningRequest"]
    }
    assert sub_cert["Validity"] == {"Type": "YEARS", "Value": 5}
    root_activation_id = synth.id_of(synth.ca.root_activation)
    assert root_activation_id in sub_resource["DependsOn"]

    activations = synth.of_type("AWS::ACMPCA::CertificateAuthorityActivation")
    root_activation = activations[root_activation_id]["Properties"]
    assert root_activation == {
        "CertificateAuthorityArn": {"Fn::GetAtt": [root_id, "Arn"]},
        "Certificate": {"Fn::GetAtt": [root_cert_id, "Certificate"]},
        "Status": "ACTIVE",
    }
    issuing_activation = activations[synth.id_of(synth.ca.issuing_activation)]["Properties"]
    assert issuing_activation == {
        "CertificateAuthorityArn": {"Fn::GetAtt": [issuing_id, "Arn"]},
        "Certificate": {"Fn::GetAtt": [sub_cert_id, "Certificate"]},
        "CertificateChain": {"Fn::GetAtt": [root_activation_id, "CompleteCertificateChain"]},
        "Status": "ACTIVE",
    }


def test_acm_may_issue_and_renew_from_the_issuing_ca_only(synth: Synth) -> None:
    (permission,) = synth.of_type("AWS::ACMPCA::Permission").values()
    assert permission["Properties"] == {
        "Actions": ["IssueCertificate", "GetCertificate", "ListPermissions"],
        "CertificateAuthorityArn": {"Fn::GetAtt": [synth.id_of(synth.ca.issuing_ca), "Arn"]},
        "Principal": "acm.amazonaws.com",
        "SourceAccount": ACCOUNT,
    }
    assert synth.stack.resolve(synth.ca.issuing_ca_arn) == {
        "Fn::GetAtt": [synth.id_of(synth.ca.issuing_ca), "Arn"]
    }


def test_crl_bucket_private_owner_enforced_and_policy_for_acm_pca(synth: Synth) -> None:
    bucket_id = synth.id_of(synth.ca.crl_bucket.node.default_child)
    props = synth.template["Resources"][bucket_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] != {"Ref": bucket_id}
    (policy,) = [
        p
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (pca,) = [s for s in statements if s.get("Principal") == {"Service": "acm-pca.amazonaws.com"}]
    assert set(pca["Action"]) == {
        "s3:PutObject",
        "s3:PutObjectAcl",
        "s3:GetBucketAcl",
        "s3:GetBucketLocation",
    }
    assert pca["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert ":acm-pca:us-east-1:111111111111:certificate-authority/" in str(
        pca["Condition"]["ArnLike"]["aws:SourceArn"]
    )
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


@pytest.mark.parametrize(
    ("change", "prop"),
    [
        ({"country": "usa"}, "country"),
        ({"common_name": ""}, "common_name"),
        ({"organization": "x" * 65}, "organization"),
        ({"root_validity_years": 1}, "root_validity_years"),
        ({"root_validity_years": 31}, "root_validity_years"),
    ],
)
def test_validation_errors_name_the_prop(change: dict[str, Any], prop: str) -> None:
    stack = cdk.Stack(cdk.App(), "V", env=cdk.Environment(account=ACCOUNT, region=REGION))
    logs = AccessLogsBucket(stack, "Logs")
    props: dict[str, Any] = {
        "common_name": "Example Root",
        "organization": "Example Health",
        "access_logs_bucket": logs.bucket,
        **change,
    }
    with pytest.raises(ValueError, match=prop):
        PrivateCertificateAuthority(stack, "Ca", **props)
