"""The scanner's test lab: a private PKI and TLS servers on 127.0.0.1, all made by the tests.

- :class:`Pki` - a test root CA, an intermediate and leaves with any fault (``cryptography``).
- :class:`PythonTlsServer` - Python's ``ssl`` (system OpenSSL 3): modern servers, TLS 1.0/1.1,
  NULL and anonymous suites (at ``@SECLEVEL=0``).
- :class:`TlsliteServer` - tlslite-ng (pure Python TLS) for what the system OpenSSL no longer
  has at all: SSL 3.0, RC4 and 3DES suites; and a P-224 ECDSA certificate on TLS 1.0 (the only
  way sslyze's legacy OpenSSL 1.0.2 client completes a handshake with one).
- :class:`NginxLab` - Debian's nginx with its own config for the legacy TLS 1.0/1.1 servers.
- :class:`HostileServer` - accepts and never answers; sends garbage; closes at once; answers
  the ClientHello with the start of a ServerHello and then stalls.
- :class:`TarpitServer` - completes real TLS handshakes for the first connections, then
  accepts every later one and never answers (a rate-limiting middlebox).

Every server listens on 127.0.0.1 only and is stopped by the fixtures.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = "127.0.0.1"
DOMAIN = "lab.example.org"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertWarden Test Lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_key(kind: str = "ec256") -> PrivateKey:
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    curves = {"ec256": ec.SECP256R1(), "ec384": ec.SECP384R1(), "ec224": ec.SECP224R1()}
    return ec.generate_private_key(curves[kind])


@dataclass(frozen=True)
class Issued:
    key: PrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )


def _ca(subject: str, key: PrivateKey, issuer: Issued | None, now: datetime) -> Issued:
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.certificate.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if not issuer else 0), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    return Issued(key, builder.sign(signer_key, hashes.SHA256()))


class Pki:
    """A root CA (trusted through the test CA bundle) and an intermediate that signs leaves."""

    def __init__(self, directory: Path, label: str = "CertWarden Test") -> None:
        self.directory = directory
        self.now = datetime.now(UTC)
        self.root = _ca(f"{label} Root CA", new_key("ec384"), None, self.now)
        self.intermediate = _ca(f"{label} Intermediate CA", new_key("ec256"), self.root, self.now)
        self.bundle = directory / f"{label.replace(' ', '-').lower()}-root.pem"
        self.bundle.write_bytes(self.root.pem)

    def leaf(
        self,
        name: str,
        *,
        key: str = "ec256",
        san: Sequence[str] | None = None,
        days_before: float = 1,
        days_after: float = 90,
        hash_algorithm: hashes.HashAlgorithm | None = None,
        self_signed: bool = False,
        issuer: Issued | None = None,
    ) -> Issued:
        private_key = new_key(key)
        signer = None if self_signed else (issuer or self.intermediate)
        names = list(san) if san is not None else [name]
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(signer.certificate.subject if signer else _name(name))
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - timedelta(days=days_before))
            .not_valid_after(self.now + timedelta(days=days_after))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        )
        if signer:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()), False
            )
        certificate = builder.sign(signer.key if signer else private_key, hashes.SHA256())
        if hash_algorithm is not None and signer is not None:
            certificate = self._resign(
                certificate, signer, private_key, hash_algorithm.name, days_after
            )
        return Issued(private_key, certificate)

    def _resign(
        self,
        certificate: x509.Certificate,
        signer: Issued,
        key: PrivateKey,
        digest: str,
        days: float,
    ) -> x509.Certificate:
        """Issue the same subject/extensions signed with a digest ``cryptography`` refuses to
        sign with (SHA-1), through the openssl command line."""
        request = x509.CertificateSigningRequestBuilder().subject_name(certificate.subject)
        for extension in certificate.extensions:
            if not isinstance(extension.value, x509.AuthorityKeyIdentifier):
                request = request.add_extension(extension.value, extension.critical)
        work = self.directory / f"resign-{certificate.serial_number}"
        work.mkdir()
        csr = request.sign(key, hashes.SHA256())
        (work / "in.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        (work / "ca.pem").write_bytes(signer.pem)
        (work / "ca.key").write_bytes(signer.key_pem)
        subprocess.run(
            ["openssl", "x509", "-req", "-in", "in.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             f"-{digest}", "-days", str(max(1, int(days))), "-set_serial",
             str(certificate.serial_number), "-copy_extensions", "copy", "-out", "out.pem"],
            cwd=work, check=True, capture_output=True,
        )  # fmt: skip
        return x509.load_pem_x509_certificate((work / "out.pem").read_bytes())

    def write(self, stem: str, leaf: Issued, chain: Sequence[Issued] = ()) -> tuple[Path, Path]:
        """PEM files (chain = leaf + the given CAs, in order; key) for a server."""
        cert_file = self.directory / f"{stem}.crt"
        key_file = self.directory / f"{stem}.key"
        cert_file.write_bytes(leaf.pem + b"".join(c.pem for c in chain))
        key_file.write_bytes(leaf.key_pem)
        return cert_file, key_file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class _Listener:
    """Accept loop on 127.0.0.1; each connection handled on its own daemon thread."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(256)
        self.port = int(self.sock.getsockname()[1])
        self._stopped = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._guarded, args=(conn,), daemon=True).start()

    def _guarded(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            self.handle(conn)
        except Exception:  # a client hanging up mid-handshake is normal here
            pass
        finally:
            if conn not in self._held:
                conn.close()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopped.set()
        self.sock.close()
        for conn in self._held:
            conn.close()


class PythonTlsServer(_Listener):
    def __init__(
        self,
        cert_file: Path | None,
        key_file: Path | None,
        *,
        ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20",
        minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
    ) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers(ciphers)
        context.minimum_version = minimum
        context.maximum_version = maximum
        if cert_file and key_file:
            context.load_cert_chain(cert_file, key_file)
        self.context = context
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        with self.context.wrap_socket(conn, server_side=True) as tls:
            tls.settimeout(2)
            with contextlib.suppress(OSError, ssl.SSLError):
                tls.recv(1)


class TlsliteListener(_Listener):
    """tlslite-ng server loop, run by :class:`TlsliteServer` in a process of its own."""

    def __init__(
        self,
        chain_pem: str,
        key_pem: str,
        *,
        cipher_names: Sequence[str],
        min_version: tuple[int, int],
        max_version: tuple[int, int],
        key_exchange: Sequence[str],
    ) -> None:
        from tlslite import (  # type: ignore[import-untyped]
            HandshakeSettings,
            X509CertChain,
            parsePEMKey,
        )

        self.chain = X509CertChain()
        self.chain.parsePemList(chain_pem)
        self.key = parsePEMKey(key_pem, private=True)
        settings = HandshakeSettings()
        settings.cipherNames = list(cipher_names)
        settings.minVersion = min_version
        settings.maxVersion = max_version
        settings.keyExchangeNames = list(key_exchange)
        self.settings = settings.validate()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        from tlslite import TLSConnection

        connection = TLSConnection(conn)
        connection.handshakeServer(
            certChain=self.chain, privateKey=self.key, settings=self.settings
        )
        connection.close()


class TlsliteServer:
    """tlslite-ng server: SSL 3.0, RC4, 3DES - suites the system OpenSSL 3 was built without.

    Pure-Python TLS is slow; in the test process it would compete for the interpreter lock
    with the scanner's own threads (and be traced by coverage), so a handshake could take
    longer than the lab's timeout and read as a stall. It runs in a child process instead
    (``tests/scanner/tlslite_process.py``), which prints its port and serves until stopped.
    """

    def __init__(
        self,
        leaf: Issued,
        chain: Sequence[Issued],
        *,
        cipher_names: Sequence[str],
        min_version: tuple[int, int],
        max_version: tuple[int, int],
        key_exchange: Sequence[str] = ("rsa", "ecdhe_rsa"),
    ) -> None:
        request = {
            "chain_pem": b"".join(issued.pem for issued in (leaf, *chain)).decode(),
            "key_pem": leaf.key_pem.decode(),
            "cipher_names": list(cipher_names),
            "min_version": list(min_version),
            "max_version": list(max_version),
            "key_exchange": list(key_exchange),
        }
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("COV_CORE_", "COVERAGE_"))  # not a traced subprocess
        }
        repo_root = str(Path(__file__).resolve().parents[2])
        environment["PYTHONPATH"] = os.pathsep.join(
            [repo_root, *filter(None, [environment.get("PYTHONPATH")])]
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.scanner.tlslite_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=repo_root,
            env=environment,
            text=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"tlslite lab server did not start: {line!r}")
        self.port = int(line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


#: The first bytes of a TLS 1.2 handshake record holding a ServerHello - and nothing more.
SERVER_HELLO_START = bytes.fromhex("160303004a020000460303")


class HostileServer(_Listener):
    """``hang``: accept and never answer; ``garbage``: answer with non-TLS bytes;
    ``close``: close at once; ``stall``: answer the ClientHello with the start of a ServerHello
    (so it looks like TLS), then never send the rest."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        if self.mode == "hang":
            self._held.append(conn)
        elif self.mode == "garbage":
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif self.mode == "close":
            conn.close()
        elif self.mode == "stall":
            conn.recv(4096)
            conn.sendall(SERVER_HELLO_START)
            self._held.append(conn)


class TarpitServer(PythonTlsServer):
    """Real TLS for the first ``answered`` connections (the pre-flight and sslyze's
    connectivity test get through), then every later connection is accepted and never answered:
    the server completed handshakes, then stalls."""

    def __init__(self, cert_file: Path, key_file: Path, *, answered: int) -> None:
        self.answered = answered
        self.connections = 0
        self._count_lock = threading.Lock()
        super().__init__(cert_file, key_file)

    def handle(self, conn: socket.socket) -> None:
        with self._count_lock:
            self.connections += 1
            number = self.connections
        if number > self.answered:
            self._held.append(conn)
            return
        super().handle(conn)


def refused_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@dataclass(frozen=True)
class NginxSite:
    name: str
    cert_file: Path
    key_file: Path
    protocols: str
    ciphers: str
    port: int = 0


class NginxLab:
    """One nginx (Debian's, own config, foreground, loopback only) serving several sites."""

    def __init__(self, directory: Path, sites: Sequence[NginxSite]) -> None:
        if NGINX is None:
            raise RuntimeError(
                "nginx is not installed (make setup runs scripts/install-system-deps.sh)"
            )
        self.directory = directory
        self.sites = [
            NginxSite(s.name, s.cert_file, s.key_file, s.protocols, s.ciphers, free_port())
            for s in sites
        ]
        servers = "\n".join(
            f"""  server {{
    listen {LOOPBACK}:{s.port} ssl;
    ssl_certificate {s.cert_file};
    ssl_certificate_key {s.key_file};
    ssl_protocols {s.protocols};
    ssl_ciphers "{s.ciphers}";
    ssl_prefer_server_ciphers on;
    location / {{ return 200 "ok\\n"; }}
  }}"""
            for s in self.sites
        )
        temp = directory / "nginx-temp"
        temp.mkdir(exist_ok=True)
        config = directory / "nginx.conf"
        config.write_text(
            f"""daemon off;
master_process off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
{servers}
}}
"""
        )
        self.process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(directory),
                "-e",
                str(directory / "nginx-error.log"),
                "-c",
                str(config),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        for site in self.sites:
            while True:
                if self.process.poll() is not None:
                    error = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"nginx exited: {error}")
                try:
                    socket.create_connection((LOOPBACK, site.port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"nginx did not listen on {site.port}") from None
                    time.sleep(0.05)

    def port(self, name: str) -> int:
        return next(s.port for s in self.sites if s.name == name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
