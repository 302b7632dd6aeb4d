"""The lab: one server per fault, good servers, hostile servers; scanned once per session."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from certwarden_runtime.scanner.models import EndpointResult, ScanOptions, Target
from tests.scanner.lab import (
    DOMAIN,
    LOOPBACK,
    NGINX,
    HostileServer,
    NginxLab,
    NginxSite,
    Pki,
    PythonTlsServer,
    TarpitServer,
    TlsliteServer,
    refused_port,
)

#: Network step timeout the lab scans with (the hanging server costs about this much).
LAB_TIMEOUT = 2.0
_LEGACY = "@SECLEVEL=0"


@dataclass
class Lab:
    pki: Pki
    #: endpoint name -> (target, rules that must fire; empty = must be SECURE)
    endpoints: dict[str, tuple[Target, frozenset[str]]] = field(default_factory=dict)
    nginx: NginxLab | None = None
    servers: list[object] = field(default_factory=list)

    def add(self, name: str, port: int, expected: set[str], sni: str | None = None) -> None:
        target = Target(host=LOOPBACK, port=port, name=name, sni=sni or f"{name}.{DOMAIN}")
        self.endpoints[name] = (target, frozenset(expected))

    @property
    def options(self) -> ScanOptions:
        return ScanOptions(
            timeout=LAB_TIMEOUT, concurrency=8, ca_bundle=self.pki.bundle, use_system_trust=False
        )

    def targets(self) -> list[Target]:
        return [target for target, _ in self.endpoints.values()]


def _python(
    lab: Lab,
    name: str,
    expected: set[str],
    leaf_kwargs: dict[str, object] | None = None,
    *,
    chain: str = "full",
    sni: str | None = None,
    **server: object,
) -> None:
    pki = lab.pki
    kwargs: dict[str, object] = {"key": "ec256", **(leaf_kwargs or {})}
    leaf = pki.leaf(f"{name}.{DOMAIN}", **kwargs)  # type: ignore[arg-type]
    cas = [pki.intermediate] if chain == "full" else []
    cert_file, key_file = pki.write(name, leaf, cas)
    srv = PythonTlsServer(cert_file, key_file, **server)  # type: ignore[arg-type]
    lab.servers.append(srv)
    lab.add(name, srv.port, expected, sni)


def build_lab(directory: Path) -> Lab:
    pki = Pki(directory)
    lab = Lab(pki)
    # -- good servers: must come out SECURE ----------------------------------------------------
    _python(lab, "good-rsa", set(), {"key": "rsa2048"})
    _python(lab, "good-ec", set(), {"key": "ec256"})
    _python(lab, "tls13-only", set(), minimum=ssl.TLSVersion.TLSv1_3)
    # -- protocol and cipher faults -----------------------------------------------------------
    maximum12 = ssl.TLSVersion.TLSv1_2
    _python(
        lab,
        "null-cipher",
        {"cipher-null"},
        {"key": "rsa2048"},
        ciphers=f"NULL-SHA256:ECDHE+AESGCM:{_LEGACY}",
    )
    _python(
        lab, "anon-cipher", {"cipher-anonymous"}, ciphers=f"AECDH-AES128-SHA:ECDHE+AESGCM:{_LEGACY}"
    )
    _python(
        lab,
        "no-forward-secrecy",
        {"tls12-no-forward-secrecy", "protocol-no-tls13"},
        {"key": "rsa2048"},
        ciphers="AES128-GCM-SHA256:AES256-GCM-SHA384",
        maximum=maximum12,
    )
    _python(
        lab,
        "cbc-only",
        {"tls12-no-aead", "protocol-no-tls13"},
        ciphers="ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384",
        maximum=maximum12,
    )
    legacy_leaf = pki.leaf(f"legacy.{DOMAIN}", key="rsa2048", san=[f"legacy.{DOMAIN}"])
    for name, ciphers, versions, rule in (
        ("sslv3", ["aes128"], ((3, 0), (3, 0)), "protocol-sslv3"),
        ("rc4-cipher", ["rc4", "aes128gcm"], ((3, 3), (3, 3)), "cipher-rc4"),
        ("3des-cipher", ["3des", "aes128gcm"], ((3, 3), (3, 3)), "cipher-3des"),
    ):
        server = TlsliteServer(
            legacy_leaf,
            [pki.intermediate],
            cipher_names=ciphers,
            min_version=versions[0],
            max_version=versions[1],
        )
        lab.servers.append(server)
        lab.add(name, server.port, {rule}, sni=f"legacy.{DOMAIN}")
    # EC key below 256 bits: OpenSSL 3 (Python ssl, nginx) and sslyze's modern OpenSSL 1.1.1
    # client agree on no ECDSA suite with a P-224 certificate; sslyze's legacy OpenSSL 1.0.2
    # client does, on TLS 1.0/1.1 only - so tlslite-ng serves it on TLS 1.0.
    ec224 = pki.leaf(f"ec-224.{DOMAIN}", key="ec224")
    ec224_server = TlsliteServer(
        ec224,
        [pki.intermediate],
        cipher_names=["aes128"],
        min_version=(3, 1),
        max_version=(3, 1),
        key_exchange=["ecdhe_ecdsa"],
    )
    lab.servers.append(ec224_server)
    lab.add("ec-224", ec224_server.port, {"cert-key-too-small"})
    legacy_sites = {
        "tls10": ("TLSv1", "protocol-tlsv1", ssl.TLSVersion.TLSv1),
        "tls11": ("TLSv1.1", "protocol-tlsv1.1", ssl.TLSVersion.TLSv1_1),
    }
    if NGINX is not None:
        sites = []
        for name, (protocol, _, _) in legacy_sites.items():
            cert_file, key_file = pki.write(
                name, pki.leaf(f"{name}.{DOMAIN}", key="rsa2048"), [pki.intermediate]
            )
            sites.append(
                NginxSite(
                    name,
                    cert_file,
                    key_file,
                    f"{protocol} TLSv1.2 TLSv1.3",
                    f"ECDHE+AESGCM:ECDHE-RSA-AES128-SHA:{_LEGACY}",
                )
            )
        lab.nginx = NginxLab(directory, sites)
        for name, (_, rule, _) in legacy_sites.items():
            lab.add(name, lab.nginx.port(name), {rule})
    else:  # same library underneath; keeps the proof where nginx is absent
        for name, (_, rule, version) in legacy_sites.items():
            _python(
                lab,
                name,
                {rule},
                {"key": "rsa2048"},
                minimum=version,
                ciphers=f"ECDHE+AESGCM:ECDHE-RSA-AES128-SHA:{_LEGACY}",
            )
    # -- certificate faults -------------------------------------------------------------------
    weak = f"ECDHE+AESGCM:{_LEGACY}"
    _python(lab, "rsa-1024", {"cert-key-too-small"}, {"key": "rsa1024"}, ciphers=weak)
    _python(
        lab,
        "sha1-signature",
        {"cert-weak-signature"},
        {"hash_algorithm": hashes.SHA1()},
        ciphers=weak,
    )
    _python(lab, "expired", {"cert-expired"}, {"days_before": 100, "days_after": -2})
    for days, left in ((45, 40), (30, 25), (15, 10), (7, 3)):
        _python(lab, f"expiring-{days}", {"cert-expiry-tier"}, {"days_after": left})
    _python(
        lab, "validity-too-long", {"cert-validity-too-long"}, {"days_before": 10, "days_after": 400}
    )
    _python(
        lab, "hostname-mismatch", {"cert-hostname-mismatch"}, {"san": [f"someone-else.{DOMAIN}"]}
    )
    _python(lab, "self-signed", {"cert-self-signed"}, {"self_signed": True}, chain="none")
    _python(lab, "incomplete-chain", {"cert-incomplete-chain"}, chain="none")
    _python(lab, "not-yet-valid", {"cert-not-yet-valid"}, {"days_before": -3, "days_after": 60})
    rogue = Pki(directory, label="Rogue")
    rogue_leaf = rogue.leaf(f"untrusted.{DOMAIN}")
    cert_file, key_file = rogue.write("untrusted", rogue_leaf, [rogue.intermediate])
    rogue_server = PythonTlsServer(cert_file, key_file)
    lab.servers.append(rogue_server)
    lab.add("untrusted", rogue_server.port, {"cert-untrusted"})
    # -- hostile endpoints ----------------------------------------------------------------------
    for mode, rule in (
        ("hang", "endpoint-timeout"),
        ("garbage", "endpoint-not-tls"),
        ("close", "endpoint-handshake-failure"),
        ("stall", "endpoint-timeout"),
    ):
        hostile = HostileServer(mode)
        lab.servers.append(hostile)
        lab.add(f"hostile-{mode}", hostile.port, {rule})
    cert_file, key_file = pki.write(
        "tarpit", pki.leaf(f"hostile-tarpit.{DOMAIN}"), [pki.intermediate]
    )
    # Three real handshakes: the pre-flight, then sslyze's connectivity test (TLS 1.3, then its
    # ECDH probe); every connection of the scan proper stalls.
    tarpit = TarpitServer(cert_file, key_file, answered=3)
    lab.servers.append(tarpit)
    lab.add("hostile-tarpit", tarpit.port, {"endpoint-timeout"})
    lab.add("refused", refused_port(), {"endpoint-refused"})
    return lab


def stop_lab(lab: Lab) -> None:
    for server in lab.servers:
        server.stop()  # type: ignore[attr-defined]
    if lab.nginx is not None:
        lab.nginx.stop()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    built = build_lab(tmp_path_factory.mktemp("tls-lab"))
    try:
        yield built
    finally:
        stop_lab(built)


@pytest.fixture(scope="session")
def lab_results(lab: Lab) -> dict[str, EndpointResult]:
    from certwarden_runtime.scanner.engine import scan_endpoints

    results = scan_endpoints(lab.targets(), lab.options)
    return {result.target.name: result for result in results}
