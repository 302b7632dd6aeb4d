"""The certificate management policy as a document, rendered from the policy object.

Every number in the document comes from :class:`~certwarden_runtime.policy.CompliancePolicy`,
the same object the constructs, the daily job, the scanner and the Kubernetes manifests
enforce, so the document and the enforcement cannot disagree. ``make synth`` writes it into the
assembly's evidence folder; ``docs/certificate-policy.md`` is the committed rendering of the
default policy (a test keeps the two equal).

Usage: ``python -m cdk_app.policy_document [OUTPUT]`` (default: print to standard output).
"""

from __future__ import annotations

import sys
from pathlib import Path

from certwarden_runtime.policy import (
    ACM_PUBLIC_KEY_ALGORITHMS,
    DEFAULT_POLICY,
    TLS_VERSIONS,
    CompliancePolicy,
    Severity,
)

COMMITTED_PATH = Path(__file__).resolve().parent.parent / "docs" / "certificate-policy.md"


def _years(days: int) -> str:
    years = days / 365.25
    return f"{days} days (about {years:.0f} years)" if years >= 1 else f"{days} days"


def _list(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def render_policy(policy: CompliancePolicy = DEFAULT_POLICY) -> str:
    """The policy document in Markdown."""
    allowed_tls = [v for v in TLS_VERSIONS if policy.tls_version_allowed(v)]
    refused_tls = [v for v in TLS_VERSIONS if not policy.tls_version_allowed(v)]
    allowed_keys = list(policy.allowed_key_algorithms)
    public_keys = [a for a in ACM_PUBLIC_KEY_ALGORITHMS if policy.key_algorithm_allowed(a)]
    warning_tiers = [t.days for t in policy.alert_tiers if t.severity is Severity.WARNING]
    critical_tiers = [t.days for t in policy.alert_tiers if t.severity is Severity.CRITICAL]
    tiers = "\n".join(
        f"| {t.days} days or fewer | {t.severity.value} | "
        f"{'critical' if t.severity is Severity.CRITICAL else 'warning'} alert topic |"
        for t in policy.alert_tiers
    )
    tls_allowed = ", ".join(allowed_tls)
    tls_refused = ", ".join(refused_tls) or "none"
    tls = f"{policy.min_tls_version} (allowed: {tls_allowed}; refused: {tls_refused})"
    cas = _table(
        ("CA", "use", "how certificates are obtained"),
        [
            (
                "AWS Certificate Manager (ACM), public",
                "internet-facing endpoints (load balancers, CloudFront, API Gateway)",
                "`PublicCertificate` construct: DNS validation in the environment's Route 53 "
                "zone, certificate transparency logging on, managed renewal by ACM",
            ),
            (
                "ACM Private CA hierarchy (root CA and issuing subordinate CA)",
                "internal services, service-to-service mutual TLS, EKS workloads",
                f"`PrivateCertificateAuthority` construct: root and issuing CA with "
                f"`{policy.ca_key_algorithm}` / `{policy.ca_signing_algorithm}`, CRL "
                f"({policy.crl_validity_days}-day validity) and OCSP; Kubernetes workloads "
                "through the aws-privateca-issuer",
            ),
            (
                "Let's Encrypt through cert-manager",
                "public names served from Kubernetes (EKS) clusters",
                "`make k8s`: cert-manager `ClusterIssuer` solving ACME DNS-01 in the hosted "
                "zone; `letsencrypt-staging` for non-production",
            ),
        ],
    )
    warning = " and ".join(str(d) for d in warning_tiers)
    critical = " and ".join(str(d) for d in critical_tiers)
    roles = _table(
        ("role", "responsibilities"),
        [
            (
                "Security officer (policy owner)",
                "owns this policy; approves changes to `CompliancePolicy`; reviews the controls "
                "matrix and every acknowledged finding each release; leads CA-compromise response",
            ),
            (
                "Platform team (certificate operators)",
                f"deploy and operate the CertWarden stacks; receive warning alerts ({warning}-day "
                "tiers); renew, re-issue and revoke certificates with the `certwarden` CLI; "
                "follow the runbooks in `docs/runbooks/`",
            ),
            (
                "Security on-call",
                f"receives critical alerts ({critical}-day tiers, expired certificates, renewal "
                "action required); leads certificate-compromise and expiry incidents",
            ),
            (
                "Service owners",
                "request certificates through the constructs or the `make k8s` configuration; "
                "deploy renewed certificates where the service does not do so automatically",
            ),
            (
                "Auditors",
                "read the evidence: controls matrix, validation report, audit trail, daily "
                "reports (`certwarden export-evidence`)",
            ),
        ],
    )
    extra = "".join(f"| `{k}` | {v} |\n" for k, v in sorted(policy.extra.items()))
    return f"""# Certificate management policy

*Rendered from `CompliancePolicy` (`lambda_src/certwarden_runtime/policy.py`) by
`python -m cdk_app.policy_document`. Do not edit by hand: change the policy object, then
re-render. The CDK constructs, the synth-time compliance rules, the daily certificate job, the
TLS scanner and the Kubernetes manifests all enforce this same object.*

## 1. Purpose and scope

This policy governs every X.509 certificate that protects electronic protected health
information (ePHI) in transit for the organisation: public certificates on internet-facing
endpoints, private certificates for internal services and mutual TLS, and the certificate
authorities that issue them. It implements the HIPAA Security Rule safeguards for transmission
security (§164.312(e)(1)), encryption in transit (§164.312(e)(2)(ii)), encryption of stored
records (§164.312(a)(2)(iv)), integrity (§164.312(c)(1)), audit controls (§164.312(b)),
information system activity review (§164.308(a)(1)(ii)(D)) and contingency planning
(§164.308(a)(7): replicated, retained audit evidence). The per-environment controls matrix
(`cdk.out/evidence/`) shows the resources and checks that implement each one.

## 2. Minimum requirements

| requirement | value |
|---|---|
| minimum TLS protocol version | {tls} |
| minimum RSA key size | {policy.min_rsa_bits} bits |
| minimum elliptic-curve key size | {policy.min_ec_bits} bits (P-{policy.min_ec_bits} or stronger) |
| key algorithms allowed | {_list(allowed_keys)} |
| key algorithms for public ACM certificates | {_list(public_keys)} |
| default key algorithm | `{policy.default_key_algorithm}` |
| validity of certificates the organisation issues | {policy.certificate_validity_days} days |
| longest validity accepted on any certificate | {policy.max_validity_days} days |
| renewal starts | {policy.renewal_window_days} days before expiry |
| private CA key algorithm | `{policy.ca_key_algorithm}` |
| private CA signing algorithm | `{policy.ca_signing_algorithm}` |
| certificate revocation list (CRL) validity | {policy.crl_validity_days} days |
| retention of certificate audit logs | {_years(policy.log_retention_days)} |
| tags required on every resource | {_list(policy.required_tags)} |
{extra}
A certificate, endpoint or CA that does not meet a requirement is non-compliant: the synth fails
on it (CDK constructs and the `CertWarden` rule pack), the daily job reports it, and the scanner
flags the endpoint.

## 3. Approved certificate authorities

{cas}

No other CA may issue certificates for the organisation's names. Self-signed certificates are
not allowed outside local development. Imported certificates (ACM import) are inventoried and
alerted on like any other, but must be replaced by an approved CA at their next renewal.

## 4. Roles and responsibilities

{roles}

## 5. Lifecycle procedures

1. **Request.** Certificates are declared in code (CDK constructs, `config/environments.yaml`,
   Kubernetes configuration) and reviewed like any change. Key algorithm, validation method and
   CA are checked at synth against section 2 and 3; a violation fails the synth.
2. **Validation and issuance.** Public ACM certificates use DNS validation only (records in the
   environment's hosted zone); private certificates are issued by the issuing CA of the private
   hierarchy; cert-manager certificates use ACME DNS-01. A validation pending for more than a
   day is handled with the "validation stuck pending" runbook.
3. **Inventory.** The daily certificate job (`certwarden check`, scheduled in each
   environment) inventories every certificate in the configured regions with its tags
   ({_list(policy.required_tags)}); `certwarden inventory` lists it on demand.
4. **Monitoring and alerting.** Alerts are raised once per tier crossing:

   | days to expiry | severity | route |
   |---|---|---|
{_indent(tiers, 3)}

   CloudWatch alarms on the ACM `DaysToExpiry` metric and EventBridge rules on ACM and ACM
   Private CA events alert independently of the daily job.
5. **Renewal.** Renewal starts {policy.renewal_window_days} days before expiry: ACM renews
   managed certificates itself; eligible private certificates are renewed by the daily job or
   `certwarden renew --arn ARN`; cert-manager renews its {policy.certificate_validity_days}-day
   certificates {policy.renewal_window_days} days before expiry (`renewBefore`). A certificate
   still not renewed when it reaches a critical tier is an incident ("expiry incident" runbook).
6. **Revocation and replacement.** A compromised or mis-issued certificate is revoked within
   24 hours (`certwarden revoke --arn ARN --reason KEY_COMPROMISE --yes` for private
   certificates; ACM public certificates are replaced and deleted), its key is rotated and a new
   certificate is issued ("certificate compromise" runbook). A compromised CA follows the "CA
   compromise" runbook.
7. **Retirement.** Certificates no longer in use are deleted (public) or revoked with reason
   `CESSATION_OF_OPERATION` (private); the inventory and audit records are kept for
   {_years(policy.log_retention_days)}.
8. **Evidence.** Every action is recorded in the audit log and CloudTrail (log file
   validation on, replicated to a second region, Object Lock); `certwarden export-evidence`
   packages a run's reports and audit records with their hashes for auditors.

## 6. Exceptions

An exception to a synth-time check is acknowledged on the one resource it concerns, with a
specific reason, in code (`certwarden_cdk.compliance.acknowledge`). The reason is written into
the template metadata and listed in the controls matrix; the security officer reviews every
acknowledgement each release. No exception is allowed for the minimum requirements of section 2.
"""


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_policy()
    if args:
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
