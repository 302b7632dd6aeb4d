"""Discovery against moto: every key type, bulk tags, pagination, throttling."""

from __future__ import annotations

from certwarden_runtime import inventory
from certwarden_runtime.policy import ACM_KEY_ALGORITHMS

from .conftest import REGION, AwsFixture, CallCounter, fail_when, target_is


def test_discovers_every_key_type_with_keytypes_filter_and_bulk_tags(aws: AwsFixture) -> None:
    arns = {
        alg: aws.cert(f"{alg.lower().replace('_', '-')}.example.org", key_algorithm=alg)
        for alg in ACM_KEY_ALGORITHMS
    }
    untagged = aws.cert("untagged.example.org", tags={})
    clients = aws.clients()
    counter = CallCounter().attach(clients)
    records = inventory.discover(clients.regions[0].acm, clients.regions[0].tagging, REGION)

    by_arn = {r.arn: r for r in records}
    assert {by_arn[a].key_algorithm for a in arns.values()} == set(ACM_KEY_ALGORITHMS)
    assert by_arn[arns["RSA_2048"]].tags["Owner"] == "platform@example.org"
    assert by_arn[untagged].tags == {}
    # ACM returns only RSA_2048 unless keyTypes names every algorithm: the request must.
    sent = counter.params["ListCertificates"][0]
    assert sorted(sent["Includes"]["keyTypes"]) == sorted(ACM_KEY_ALGORITHMS)
    # No per-certificate calls for discovery.
    assert "DescribeCertificate" not in counter.calls
    assert "ListTagsForCertificate" not in counter.calls
    assert counter.calls == {"ListCertificates": 1, "GetResources": 1}


def test_days_and_summary_fields(aws: AwsFixture) -> None:
    arn = aws.cert("days.example.org", days_left=12.5, in_use=True)
    clients = aws.clients()
    (record,) = inventory.discover(clients.regions[0].acm, clients.regions[0].tagging, REGION)
    assert record.arn == arn
    assert record.in_use is True
    assert record.type == "IMPORTED"
    assert record.not_after is not None
    assert record.not_after.tzinfo is not None
    assert record.issuer == ""  # imported: only DescribeCertificate knows the issuer


def test_pagination_over_several_pages(aws: AwsFixture, monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setattr(inventory, "LIST_PAGE_SIZE", 3)
    mp.setattr(inventory, "TAG_PAGE_SIZE", 2)
    try:
        arns = {aws.cert(f"p{i}.example.org") for i in range(8)}
        clients = aws.clients()
        counter = CallCounter().attach(clients)
        records = inventory.discover(clients.regions[0].acm, clients.regions[0].tagging, REGION)
    finally:
        mp.undo()
    assert {r.arn for r in records} == arns
    assert all(r.tags for r in records)
    assert counter.calls["ListCertificates"] == 3  # 3 + 3 + 2
    assert counter.calls["GetResources"] >= 4  # 2 per page (moto may cut pages shorter)


def test_throttling_then_success(aws: AwsFixture) -> None:
    arn = aws.cert("throttled.example.org")
    clients = aws.clients()
    acm = clients.regions[0].acm
    hook = fail_when(target_is("ListCertificates"), "ThrottlingException", times=2)
    acm.meta.events.register("before-send.acm.ListCertificates", hook)
    counter = CallCounter().attach(clients)
    records = inventory.discover(acm, clients.regions[0].tagging, REGION)
    assert [r.arn for r in records] == [arn]
    assert counter.calls["ListCertificates"] == 1  # one logical call, retried by botocore


def test_detail_from_description_picks_pending_records() -> None:
    detail = inventory.detail_from_description(
        {
            "Issuer": "Amazon",
            "Serial": "0a:0b",
            "RenewalSummary": {
                "RenewalStatus": "PENDING_VALIDATION",
                "DomainValidationOptions": [
                    {
                        "DomainName": "a.example.org",
                        "ValidationStatus": "PENDING_VALIDATION",
                        "ResourceRecord": {
                            "Name": "_x.a.example.org.",
                            "Type": "CNAME",
                            "Value": "_y.acm-validations.aws.",
                        },
                    },
                    {"DomainName": "b.example.org", "ValidationStatus": "SUCCESS"},
                ],
            },
        }
    )
    assert detail.renewal_status == "PENDING_VALIDATION"
    assert [r.domain for r in detail.pending_records] == ["a.example.org"]
    assert detail.pending_records[0].type == "CNAME"


def test_tag_pages_fall_back_when_tags_per_page_is_refused(aws: AwsFixture) -> None:
    arn = aws.cert("fallback.example.org")
    clients = aws.clients()
    tagging = clients.regions[0].tagging
    hook = fail_when(target_is("GetResources"), "InvalidParameterException", times=1)
    tagging.meta.events.register("before-send.resource-groups-tagging-api.GetResources", hook)
    counter = CallCounter().attach(clients)
    tags = inventory.fetch_tags(tagging)
    assert tags[arn]["Owner"] == "platform@example.org"
    assert counter.calls["GetResources"] == 2
    assert "TagsPerPage" in counter.params["GetResources"][0]
    assert "TagsPerPage" not in counter.params["GetResources"][1]


def test_other_tagging_errors_propagate(aws: AwsFixture) -> None:
    import pytest
    from botocore.exceptions import ClientError

    clients = aws.clients()
    tagging = clients.regions[0].tagging
    hook = fail_when(target_is("GetResources"), "AccessDeniedException")
    tagging.meta.events.register("before-send.resource-groups-tagging-api.GetResources", hook)
    with pytest.raises(ClientError, match="AccessDenied"):
        inventory.fetch_tags(tagging)
