"""The IRSA roles for cert-manager and aws-privateca-issuer, in a test stack checked by the
compliance packs (one synth per module)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from certwarden_cdk.cert_manager_irsa_role import CertManagerIrsaRole
from certwarden_cdk.private_ca_issuer_irsa_role import PrivateCaIssuerIrsaRole
from tests.nag_helpers import nag_findings, new_app, template_of

ENV = cdk.Environment(account="111111111111", region="us-east-1")
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0STAGING0000000000000000"
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{ISSUER}"
CA_ARN = (
    "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/"
    "11111111-2222-3333-4444-555555555555"
)


class Built:
    def __init__(self) -> None:
        self.app = new_app()
        self.stack = cdk.Stack(self.app, "IrsaTest", env=ENV)
        CertManagerIrsaRole(
            self.stack,
            "CertManager",
            oidc_provider_arn=PROVIDER,
            hosted_zone_id="Z0STAGINGEXAMPLE1",
            role_name="certwarden-staging-cert-manager",
        )
        PrivateCaIssuerIrsaRole(
            self.stack, "PcaIssuer", oidc_provider_arn=PROVIDER, certificate_authority_arn=CA_ARN
        )
        self.findings = nag_findings(self.app)
        self.template = template_of(self.app, self.stack)

    def of_type(self, kind: str) -> dict[str, Any]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _policy_for(built: Built, prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        p for k, p in built.of_type("AWS::IAM::ManagedPolicy").items() if k.startswith(prefix)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_compliance_packs_pass(built: Built) -> None:
    assert built.findings == []


def test_only_managed_policies(built: Built) -> None:
    assert built.of_type("AWS::IAM::Policy") == {}
    roles = built.of_type("AWS::IAM::Role")
    assert len(roles) == 2
    assert all("Policies" not in r["Properties"] for r in roles.values())
    assert len(built.of_type("AWS::IAM::ManagedPolicy")) == 2


@pytest.mark.parametrize(
    ("prefix", "subject"),
    [
        ("CertManager", "system:serviceaccount:cert-manager:cert-manager"),
        ("PcaIssuer", "system:serviceaccount:aws-privateca-issuer:aws-privateca-issuer"),
    ],
)
def test_trust_is_one_service_account_of_one_cluster(
    built: Built, prefix: str, subject: str
) -> None:
    (role,) = [r for k, r in built.of_type("AWS::IAM::Role").items() if k.startswith(prefix)]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Condition"] == {
        "StringEquals": {f"{ISSUER}:sub": subject, f"{ISSUER}:aud": "sts.amazonaws.com"}
    }


def test_cert_manager_may_only_touch_challenge_records_in_its_zone(built: Built) -> None:
    statements = {s["Sid"]: s for s in _policy_for(built, "CertManager")}
    zone = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":route53:::hostedzone/Z0STAGINGEXAMPLE1"],
        ]
    }
    change = statements["ChallengeRecords"]
    assert change["Action"] == "route53:ChangeResourceRecordSets"
    assert change["Resource"] == zone
    assert change["Condition"]["ForAllValues:StringEquals"] == {
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]
    }
    assert change["Condition"]["ForAllValues:StringLike"] == {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]
    }
    assert statements["ReadZone"]["Resource"] == zone
    assert statements["ChangeStatus"]["Action"] == "route53:GetChange"
    actions = {s["Action"] for s in statements.values()}
    assert "route53:ListHostedZonesByName" not in actions


def test_private_ca_issuer_may_only_use_its_ca(built: Built) -> None:
    statements = _policy_for(built, "PcaIssuer")
    actions = set()
    for statement in statements:
        assert statement["Resource"] == CA_ARN
        action = statement["Action"]
        actions |= set(action if isinstance(action, list) else [action])
    assert actions == {
        "acm-pca:IssueCertificate",
        "acm-pca:GetCertificate",
        "acm-pca:DescribeCertificateAuthority",
    }
    issue = next(s for s in statements if s["Action"] == "acm-pca:IssueCertificate")
    assert "StringNotLike" in issue["Condition"]  # no CA templates


def test_the_wildcard_is_acknowledged_with_a_reason(built: Built) -> None:
    (policy,) = [
        p
        for k, p in built.of_type("AWS::IAM::ManagedPolicy").items()
        if k.startswith("CertManager")
    ]
    suppressed = policy["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [s["id"] for s in suppressed] == [
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]"
    ]
    assert "change id" in suppressed[0]["reason"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hosted_zone_id": "not-a-zone"}, "hosted_zone_id"),
        ({"oidc_provider_arn": "arn:aws:iam::111111111111:role/x"}, "oidc_provider_arn"),
        ({"namespace": "Cert_Manager"}, "namespace"),
    ],
)
def test_bad_props_are_named(kwargs: dict[str, str], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=ENV)
    props = {"oidc_provider_arn": PROVIDER, "hosted_zone_id": "Z0STAGINGEXAMPLE1", **kwargs}
    with pytest.raises(ValueError, match=message):
        CertManagerIrsaRole(stack, "Role", **props)


def test_bad_ca_arn_is_named() -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=ENV)
    with pytest.raises(ValueError, match="certificate_authority_arn"):
        PrivateCaIssuerIrsaRole(
            stack, "Role", oidc_provider_arn=PROVIDER, certificate_authority_arn="arn:aws:s3:::x"
        )
