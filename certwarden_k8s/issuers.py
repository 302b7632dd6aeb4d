"""ClusterIssuers: Let's Encrypt (production, staging) over DNS-01 in Route53 with the
controller's IRSA role (no keys), and the issuing CA of the private hierarchy."""

from __future__ import annotations

from dataclasses import dataclass

from cdk_app.config import EnvironmentConfig, KubernetesConfig

from ._common import Manifest, manifest


@dataclass(frozen=True)
class IssuerRef:
    name: str
    kind: str
    group: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "group": self.group}


ACME_SERVERS = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
PRIVATE_CA_ISSUER = IssuerRef("private-ca", "AWSPCAClusterIssuer", "awspca.cert-manager.io")
ISSUERS: dict[str, IssuerRef] = {
    **{name: IssuerRef(name, "ClusterIssuer", "cert-manager.io") for name in ACME_SERVERS},
    PRIVATE_CA_ISSUER.name: PRIVATE_CA_ISSUER,
}


def acme_issuer(env: EnvironmentConfig, k8s: KubernetesConfig, name: str) -> Manifest:
    return manifest(
        "cert-manager.io/v1",
        "ClusterIssuer",
        name,
        spec={
            "acme": {
                "email": k8s.acme_email,
                "server": ACME_SERVERS[name],
                "privateKeySecretRef": {"name": f"{name}-account-key"},
                "solvers": [
                    {
                        "selector": {"dnsZones": [env.hosted_zone.name]},
                        # No accessKeyID/secretAccessKeySecretRef: ambient IRSA credentials.
                        "dns01": {
                            "route53": {
                                "region": env.region,
                                "hostedZoneID": env.hosted_zone.id,
                            }
                        },
                    }
                ],
            }
        },
    )


def private_ca_issuer(env: EnvironmentConfig, ca_arn: str) -> Manifest:
    # No secretRef: the issuer's service account assumes its IRSA role.
    return manifest(
        "awspca.cert-manager.io/v1beta1",
        PRIVATE_CA_ISSUER.kind,
        PRIVATE_CA_ISSUER.name,
        spec={"arn": ca_arn, "region": ca_arn.split(":")[3] or env.region},
    )


def all_issuers(env: EnvironmentConfig, k8s: KubernetesConfig) -> list[Manifest]:
    issuers = [acme_issuer(env, k8s, name) for name in ACME_SERVERS]
    if k8s.private_ca_arn is not None:
        issuers.append(private_ca_issuer(env, k8s.private_ca_arn))
    return issuers
