"""The certificate policy document is rendered from the policy object and committed as is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cdk_app import policy_document
from certwarden_runtime.policy import DEFAULT_POLICY, AlertTier, Severity


def test_committed_document_equals_the_rendering() -> None:
    committed = policy_document.COMMITTED_PATH.read_text()
    assert committed == policy_document.render_policy(DEFAULT_POLICY), (
        "docs/certificate-policy.md is out of date: run "
        "`python -m cdk_app.policy_document docs/certificate-policy.md`"
    )


def test_document_carries_every_number_of_the_policy() -> None:
    text = policy_document.render_policy(DEFAULT_POLICY)
    for fragment in (
        "| minimum TLS protocol version | TLSv1.2",
        "| minimum RSA key size | 2048 bits |",
        "| renewal starts | 60 days before expiry |",
        "| certificate revocation list (CRL) validity | 7 days |",
        "2192 days (about 6 years)",
        "`DataClassification`",
        "ACM Private CA hierarchy",
        "Let's Encrypt through cert-manager",
        "| 45 days or fewer | WARNING |",
        "| 7 days or fewer | CRITICAL |",
        "certwarden revoke --arn ARN --reason KEY_COMPROMISE --yes",
    ):
        assert fragment in text


def test_a_changed_policy_changes_the_document() -> None:
    stricter = replace(
        DEFAULT_POLICY,
        min_rsa_bits=3072,
        min_tls_version="TLSv1.3",
        alert_tiers=(AlertTier(50, Severity.WARNING), AlertTier(10, Severity.CRITICAL)),
        extra={"ocsp_stapling": "required on every endpoint"},
    )
    text = policy_document.render_policy(stricter)
    assert "| minimum RSA key size | 3072 bits |" in text
    assert "refused: SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2" in text
    assert "`RSA_2048`" not in text.split("## 3.")[0]
    assert "| 50 days or fewer | WARNING |" in text
    assert "| `ocsp_stapling` | required on every endpoint |" in text


def test_main_writes_or_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "policy.md"
    assert policy_document.main([str(target)]) == 0
    assert target.read_text() == policy_document.render_policy()
    assert policy_document.main([]) == 0
    assert capsys.readouterr().out == policy_document.render_policy()
