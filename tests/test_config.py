"""Environment configuration: the examples load, and each bad input names environment and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdk_app.config import ConfigError, load_config, parse_config, select_environments

EXAMPLES = Path(__file__).resolve().parent.parent / "config" / "environments.yaml"


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLES.read_text())
    return data


def test_examples_load() -> None:
    config = load_config(EXAMPLES)
    assert {"staging", "production"} <= set(config.environments)
    production = config.environments["production"]
    assert production.private_ca.enabled
    assert production.vpc is not None
    assert production.inventory_regions == ("us-east-1", "us-west-2")
    assert config.environments["staging"].inventory_regions == ("us-east-1",)
    for env in config.environments.values():
        assert all(d.endswith("example.org") for d in env.domains)


def _mutate(raw: dict[str, Any], env: str, path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    target = data["environments"][env]
    *parents, leaf = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "key_algorithm",
            "RSA_1024",
            "field 'key_algorithm': RSA_1024 is below the compliance policy",
        ),
        ("key_algorithm", "RSA_4096", "ACM does not issue public certificates with RSA_4096"),
        ("colour", "blue", "field 'colour': unknown key"),
        ("account", 111111111111, "field 'account': Input should be a valid string"),
        ("account", "1234", "field 'account'"),
        (
            "domains",
            ["bad_name!.example.org"],
            "field 'domains.0': 'bad_name!.example.org' is not a valid DNS name",
        ),
        (
            "domains",
            ["portal.example.com"],
            "field 'domains': domain 'portal.example.com' is not inside hosted zone",
        ),
        ("hosted_zone", _DELETE, "field 'hosted_zone': required field is missing"),
        ("hosted_zone.id", "zone-1", "field 'hosted_zone.id'"),
        (
            "alert_emails.critical",
            ["not-an-email"],
            "field 'alert_emails.critical.0': 'not-an-email' is not an email address",
        ),
        ("alert_emails.critical", [], "field 'alert_emails.critical'"),
        ("replica_region", "us-east-1", "field 'replica_region': must differ from region"),
        ("region", "mars-1", "field 'region': 'mars-1' is not an AWS region"),
        (
            "private_ca.enabled",
            "yes",
            "field 'private_ca.enabled': Input should be a valid boolean",
        ),
        ("audit.object_lock_mode", "FOREVER", "field 'audit.object_lock_mode'"),
        ("tags", {"Owner": "x"}, "required tags missing: DataClassification"),
        ("scan_targets.0.type", "smtp", "field 'scan_targets.0.type'"),
        ("scan_targets.0.port", 0, "field 'scan_targets.0.port'"),
        (
            "kubernetes.private_ca_issuer_role_arn",
            "arn:aws:iam::111111111111:role/pca-issuer",
            "field 'kubernetes.private_ca_issuer_role_arn': private_ca_arn and "
            "private_ca_issuer_role_arn are set together",
        ),
        (
            "kubernetes.cert_manager_role_arn",
            "arn:aws:iam::999999999999:role/cert-manager",
            "field 'kubernetes.cert_manager_role_arn': arn:aws:iam::999999999999:role/"
            "cert-manager is in account 999999999999, not this environment's account",
        ),
    ],
)
def test_bad_input_names_environment_and_field(
    raw: dict[str, Any], path: str, value: Any, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_mutate(raw, "staging", path, value))
    message = str(caught.value)
    assert message.startswith("environment 'staging': "), message
    assert expected in message, message


def test_account_expiry_singleton_declared_twice_is_rejected(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    clone = copy.deepcopy(data["environments"]["staging"])
    data["environments"]["qa"] = clone
    with pytest.raises(ConfigError, match="environment 'qa': field 'manage_account_expiry_events'"):
        parse_config(data)
    clone["manage_account_expiry_events"] = False
    assert "qa" in parse_config(data).environments


def test_unknown_top_level_key(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="field 'envs': unknown top-level key"):
        parse_config({**raw, "envs": {}})
    # selecting is done at synth (-c env=NAME); a config key for it would be silently ignored
    with pytest.raises(ConfigError, match="field 'default_environment': unknown top-level key"):
        parse_config({**raw, "default_environment": "staging"})


def test_environment_selection(raw: dict[str, Any]) -> None:
    config = parse_config(raw)
    assert [e.name for e in select_environments(config, None)] == ["staging", "production"]
    assert [e.name for e in select_environments(config, "production")] == ["production"]
    with pytest.raises(ConfigError, match="context 'env': 'qa' is not a configured environment"):
        select_environments(config, "qa")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("environments: [unclosed")
    with pytest.raises(ConfigError, match="is not valid yaml"):
        load_config(broken)


def test_private_ca_issuer_role_needs_this_stacks_private_ca(raw: dict[str, Any]) -> None:
    data = _mutate(
        raw,
        "staging",
        "kubernetes.private_ca_arn",
        "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/"
        "11111111-2222-3333-4444-555555555555",
    )
    data = _mutate(
        data,
        "staging",
        "kubernetes.private_ca_issuer_role_arn",
        "arn:aws:iam::111111111111:role/pca-issuer",
    )
    with pytest.raises(
        ConfigError,
        match=r"field 'kubernetes.private_ca_issuer_role_arn': .*"
        r"enable private_ca",
    ):
        parse_config(data)
