"""Offline, Docker-free bundling of the CertWarden runtime into a Lambda asset.

``runtime_code()`` returns a :class:`aws_cdk.aws_lambda.Code` whose asset is built on the
synthesizing machine by copying, from the *current* Python environment:

* the ``certwarden_runtime`` package (``lambda_src/certwarden_runtime``), and
* the pure-Python distributions the runtime needs that the Lambda Python runtime does not ship:
  ``aws-lambda-powertools`` and its (non-extra) dependencies such as ``jmespath`` and
  ``typing-extensions``, plus any ``extra_packages`` a caller names (with their dependencies).

boto3/botocore/s3transfer are provided by the Lambda Python runtime and are never copied.
The Docker image in the bundling options is required by the API but never used: local bundling
always succeeds, so synth works offline and without Docker. ``__pycache__`` and ``*.pyc`` are
skipped and files are copied byte-for-byte in a sorted order, so the asset hash (computed from
the output) is stable across machines with the same package versions.

Only pure-Python (or ``abi3`` / manylinux x86_64) packages can be bundled this way: compiled
extensions are copied as installed here and must match the Lambda runtime's platform.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

import certwarden_runtime

#: The Python runtime of every CertWarden function (the newest aws-cdk-lib knows).
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14

#: Distributions the runtime needs beyond the Lambda runtime's own packages.
RUNTIME_DISTRIBUTIONS: tuple[str, ...] = ("aws-lambda-powertools",)

#: Already present in every Lambda Python runtime; never bundled.
PROVIDED_BY_LAMBDA: frozenset[str] = frozenset({"boto3", "botocore", "s3transfer"})

_EXCLUDED_PARTS = frozenset({"__pycache__"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str | None:
    """The distribution name of a requirement without an extra marker; None if extra-only."""
    spec, _, marker = requirement.partition(";")
    if "extra" in marker:
        return None
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return match.group(1) if match else None


def distribution_closure(names: Iterable[str]) -> list[metadata.Distribution]:
    """``names`` and their non-extra dependencies, minus what Lambda provides, sorted by name.

    Raises ValueError naming the package when one is not installed in this environment.
    """
    found: dict[str, metadata.Distribution] = {}
    pending = [_normalise(n) for n in names]
    while pending:
        name = pending.pop()
        if name in found or name in PROVIDED_BY_LAMBDA:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ValueError(
                f"extra_packages: distribution {name!r} is not installed in this Python "
                "environment; install it (pip install) before synthesizing"
            ) from None
        found[name] = dist
        for requirement in dist.requires or ():
            dep = _requirement_name(requirement)
            if dep is not None:
                pending.append(_normalise(dep))
    return [found[k] for k in sorted(found)]


def _included(relative: Path) -> bool:
    return (
        not any(part in _EXCLUDED_PARTS for part in relative.parts)
        and not relative.name.endswith(_EXCLUDED_SUFFIXES)
        and ".." not in relative.parts
    )


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def runtime_package_dir() -> Path:
    """The directory of the ``certwarden_runtime`` package being bundled."""
    return Path(certwarden_runtime.__file__).resolve().parent


def bundle_into(output_dir: str | Path, distributions: Sequence[str] = ()) -> list[str]:
    """Copy ``certwarden_runtime`` and the closure of ``RUNTIME_DISTRIBUTIONS`` +
    ``distributions`` into ``output_dir``; return the copied relative paths (sorted)."""
    out = Path(output_dir)
    copied: set[str] = set()
    package = runtime_package_dir()
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package.parent)
        if path.is_file() and _included(relative):
            _copy(path, out / relative)
            copied.add(relative.as_posix())
    for dist in distribution_closure([*RUNTIME_DISTRIBUTIONS, *distributions]):
        for file in sorted(dist.files or (), key=str):
            relative = Path(str(file))
            source = Path(str(dist.locate_file(file)))
            if _included(relative) and source.is_file():
                _copy(source, out / relative)
                copied.add(relative.as_posix())
    return sorted(copied)


@jsii.implements(cdk.ILocalBundling)
class RuntimeLocalBundling:
    """jsii local bundling that copies the runtime and its packages; never needs Docker."""

    def __init__(self, distributions: Sequence[str] = ()) -> None:
        self.distributions = tuple(distributions)

    # jsii passes the BundlingOptions struct positionally (the Protocol's keyword form is only
    # the generated typing), hence the cast where it is used.
    def try_bundle(self, output_dir: str, options: Any = None, **_: Any) -> bool:
        bundle_into(output_dir, self.distributions)
        return True


def runtime_code(*, extra_packages: Sequence[str] = ()) -> lambda_.Code:
    """Lambda code for the CertWarden runtime, bundled locally (offline, no Docker).

    :param extra_packages: further installed distributions (with their dependencies) to bundle,
        e.g. ``("sslyze",)`` for the TLS scanner. Default: none (the runtime needs only
        aws-lambda-powertools, which is always bundled). Each must be installed in the
        synthesizing environment; a missing one raises ValueError at call time.
    """
    extras = tuple(extra_packages)
    for name in extras:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ValueError(
                f"extra_packages: {name!r} is not a distribution name (letters, digits, . _ -)"
            )
    distribution_closure([*RUNTIME_DISTRIBUTIONS, *extras])  # fail early on missing packages
    return lambda_.Code.from_asset(
        str(runtime_package_dir()),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            image=LAMBDA_RUNTIME.bundling_image,
            local=cast(cdk.ILocalBundling, RuntimeLocalBundling(extras)),
        ),
    )
