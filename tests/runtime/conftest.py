"""Fixtures for the runtime tests: moto (with demo.moto_acm's documented extensions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto import mock_aws
from moto.sns.models import sns_backends

from certwarden_runtime.aws import Clients, make_clients
from certwarden_runtime.job import JobSettings
from certwarden_runtime.policy import DEFAULT_POLICY
from demo import moto_acm

REGION = "us-east-1"
BUCKET = "certwarden-reports-example"
ACCOUNT = "123456789012"  # moto's default account
FULL_TAGS = {
    "Environment": "test",
    "Owner": "platform@example.org",
    "DataClassification": "PHI",
    "Compliance": "HIPAA",
}

moto_acm.install()


@dataclass
class AwsFixture:
    acm: Any
    s3: Any
    sns: Any
    kms_key_id: str
    warning_topic: str
    critical_topic: str
    created: list[str] = field(default_factory=list)

    def cert(
        self,
        domain: str,
        *,
        days_left: float = 200,
        key_algorithm: str = "EC_prime256v1",
        tags: dict[str, str] | None = None,
        validity_days: float = 365,
        **state: Any,
    ) -> str:
        arn = moto_acm.import_certificate(
            self.acm,
            domain,
            key_algorithm=key_algorithm,
            days_left=days_left,
            validity_days=validity_days,
            tags=FULL_TAGS if tags is None else tags,
        )
        if state:
            moto_acm.set_certificate(arn, **state)
        self.created.append(arn)
        return arn

    def clients(self) -> Clients:
        return make_clients([REGION])

    def settings(self, **changes: Any) -> JobSettings:
        base: dict[str, Any] = {
            "environment": "test",
            "policy": DEFAULT_POLICY,
            "regions": (REGION,),
            "warning_topic_arn": self.warning_topic,
            "critical_topic_arn": self.critical_topic,
            "reports_bucket": BUCKET,
            "reports_kms_key_id": self.kms_key_id,
            "reserve_seconds": 5.0,
        }
        base.update(changes)
        return JobSettings(**base)

    def messages(self, topic: str) -> list[tuple[str, str]]:
        """(subject, message) of every notification published to ``topic``."""
        sent = sns_backends[ACCOUNT][REGION].topics[topic].sent_notifications
        return [(n[2] or "", n[1]) for n in sent]


@pytest.fixture
def aws() -> Iterator[AwsFixture]:
    with mock_aws():
        moto_acm.RENEWALS.clear()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        kms = boto3.client("kms", region_name=REGION)
        key_id = kms.create_key(Description="reports")["KeyMetadata"]["KeyId"]
        sns = boto3.client("sns", region_name=REGION)
        yield AwsFixture(
            acm=boto3.client("acm", region_name=REGION),
            s3=s3,
            sns=sns,
            kms_key_id=key_id,
            warning_topic=sns.create_topic(Name="certwarden-warning")["TopicArn"],
            critical_topic=sns.create_topic(Name="certwarden-critical")["TopicArn"],
        )


class CallCounter:
    """Counts API calls by operation through botocore's event hooks."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.params: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, model: Any, params: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1
        self.params.setdefault(model.name, []).append(params)

    def attach(self, clients: Clients) -> CallCounter:
        for rc in clients.regions:
            for client in (rc.acm, rc.tagging):
                client.meta.events.register("before-parameter-build", self)
        return self


#: A botocore ``before-send`` handler: a returned response short-circuits the request, None lets
#: it through. The return is ``Any`` because botocore-stubs types every handler passed to
#: ``register`` as ``Callable[..., None]``, which rejects ``Callable[..., AWSResponse | None]``.
BeforeSendHook = Callable[..., Any]


def fail_when(
    predicate: Callable[[Any], bool], code: str, status: int = 400, times: int | None = None
) -> BeforeSendHook:
    """A ``before-send`` hook answering matching requests with an AWS error (then passing)."""
    remaining = [times]

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        if not predicate(request):
            return None
        if remaining[0] is not None:
            if remaining[0] <= 0:
                return None
            remaining[0] -= 1
        body = (f'{{"__type":"{code}","message":"injected by the test"}}').encode()
        return AWSResponse(
            request.url,
            status,
            HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.1"}),
            _Raw(body),
        )

    return hook


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

    def read(self) -> bytes:
        return self.body


def target_is(operation: str) -> Callable[[Any], bool]:
    def match(request: Any) -> bool:
        target: bytes = request.headers.get("X-Amz-Target", b"")
        return target.decode().endswith("." + operation)

    return match


NOW = dt.datetime.now(dt.UTC)
