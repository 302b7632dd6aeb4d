"""Bounded pre-flight: does the endpoint accept a connection and answer a ClientHello with TLS?

sslyze probes a server with up to a dozen ClientHellos before it gives up, each waiting the
full network timeout, so a server that accepts and never answers would cost a minute or more.
This pre-flight sends one broad ClientHello (TLS 1.0-1.3 offered, legacy and modern suites) and
classifies the first answer within ``timeout``: refused, timed out, closed, not TLS - or TLS
(a handshake record or an alert; a legacy-only server that alerts is left to the engine).
"""

from __future__ import annotations

import os
import socket
import struct

from certwarden_runtime.scanner.evaluate import EndpointProblem

# TLS 1.3, then (EC)DHE AEAD, CBC, RSA, and legacy suites so that old servers answer too.
_CIPHER_SUITES = (
    0x1301, 0x1302, 0x1303,
    0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009E, 0x009F,
    0xC009, 0xC013, 0xC00A, 0xC014, 0xC023, 0xC027, 0xC024, 0xC028, 0x0033, 0x0039, 0x0067, 0x006B,
    0x009C, 0x009D, 0x002F, 0x0035, 0x003C, 0x003D,
    0x000A, 0xC012, 0x0016, 0x0005, 0x0004, 0xC011, 0x0009, 0x0015, 0x0003, 0x0006, 0x0008,
    0x0034, 0x003A, 0x00A6, 0x00A7, 0x001B, 0x0018, 0xC018, 0xC019,
    0x0001, 0x0002, 0x003B, 0xC006, 0xC010,
    0x00FF,
)  # fmt: skip
_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019, 0x0100)
_SIGNATURE_ALGORITHMS = (
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
    0x0807, 0x0808, 0x0201, 0x0203, 0x0202,
)  # fmt: skip


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _u16_list(values: tuple[int, ...]) -> bytes:
    data = b"".join(struct.pack("!H", v) for v in values)
    return struct.pack("!H", len(data)) + data


def client_hello(server_name: str | None) -> bytes:
    """One TLS record holding a ClientHello that TLS 1.0-1.3 servers all understand."""
    extensions = b""
    if server_name and not _is_ip(server_name):
        name = server_name.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        extensions += _extension(0x0000, struct.pack("!H", len(entry)) + entry)
    extensions += _extension(0x000A, _u16_list(_GROUPS))
    extensions += _extension(0x000B, b"\x01\x00")
    extensions += _extension(0x000D, _u16_list(_SIGNATURE_ALGORITHMS))
    extensions += _extension(0x0016, b"")  # encrypt-then-mac
    extensions += _extension(0x0017, b"")  # extended master secret
    versions = b"\x03\x04\x03\x03\x03\x02\x03\x01"
    extensions += _extension(0x002B, bytes([len(versions)]) + versions)
    extensions += _extension(0x002D, b"\x01\x01")  # psk_dhe_ke
    share = struct.pack("!HH", 0x001D, 32) + os.urandom(32)
    extensions += _extension(0x0033, struct.pack("!H", len(share)) + share)
    session_id = os.urandom(32)
    body = (
        b"\x03\x03"
        + os.urandom(32)
        + bytes([len(session_id)])
        + session_id
        + _u16_list(_CIPHER_SUITES)
        + b"\x01\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _is_ip(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name.strip("[]"))
    except OSError:
        return False
    return True


def resolve(host: str, port: int) -> tuple[str, int] | EndpointProblem:
    """(address, family) of ``host``; IPv4 first as sslyze prefers it."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        return EndpointProblem("unresolved", f"cannot resolve {host!r}: {error}")
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return str(sockaddr[0]), int(family)


def preflight(
    address: str, family: int, port: int, server_name: str | None, timeout: float
) -> EndpointProblem | None:
    """None when the endpoint answers a ClientHello with a TLS record within ``timeout``."""
    where = f"{address}:{port}"
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect((address, port))
        except ConnectionRefusedError:
            return EndpointProblem("refused", f"{where}: connection refused")
        except TimeoutError:
            return EndpointProblem("timeout", f"{where}: no TCP connection within {timeout:g} s")
        except OSError as error:
            return EndpointProblem("error", f"{where}: cannot connect ({error.strerror or error})")
        try:
            sock.sendall(client_hello(server_name))
            answer = sock.recv(5)
        except TimeoutError:
            return EndpointProblem(
                "timeout",
                f"{where}: connection accepted but no answer to a ClientHello within {timeout:g} s",
            )
        except ConnectionResetError:
            return EndpointProblem("handshake-failure", f"{where}: connection reset on ClientHello")
        except OSError as error:
            return EndpointProblem(
                "handshake-failure", f"{where}: {error.strerror or error} on ClientHello"
            )
        if not answer:
            return EndpointProblem(
                "handshake-failure",
                f"{where}: the server closed the connection without answering the ClientHello",
            )
        if answer[0] in (0x15, 0x16) and (len(answer) < 2 or answer[1] == 0x03):
            return None
        return EndpointProblem("not-tls", f"{where}: answer is not TLS: {_preview(answer, sock)}")
    finally:
        sock.close()


def _preview(first: bytes, sock: socket.socket) -> str:
    data = first
    try:
        sock.settimeout(0.2)
        data += sock.recv(27)
    except OSError:
        pass
    text = data[:32]
    printable = all(32 <= b < 127 or b in (9, 10, 13) for b in text)
    return repr(text.decode("ascii")) if printable else text.hex(" ")
