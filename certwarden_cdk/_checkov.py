"""checkov exceptions recorded on the one resource they concern, each with its reason.

checkov reads ``Metadata.checkov.skip`` of a CloudFormation resource: a list of
``{"id": "CKV_AWS_18", "comment": "..."}``. The comment is the reason; checkov prints it beside
the skipped check and the project's tests require a specific one for every skip. Checks are
never skipped on the command line or for a whole template (``make checkov``).
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk

METADATA_KEY = "checkov"
#: Shorter reasons ("n/a", "false positive") say nothing a reviewer can check.
MIN_REASON_LENGTH = 20
#: checkov's check ids: ``CKV_AWS_18``, ``CKV2_AWS_71``, ...
_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def skip_checkov_check(resource: cdk.CfnResource, check_id: str, reason: str) -> None:
    """Skip checkov ``check_id`` (e.g. ``CKV_AWS_18``) on ``resource`` only, for ``reason``.

    Merges with the resource's existing checkov metadata; skipping the same check again
    replaces its reason.

    :raises ValueError: for a malformed check id or a reason shorter than 20 characters.
    """
    if not _CHECK_ID.fullmatch(check_id):
        raise ValueError(
            f"checkov check id {check_id!r} on {resource.node.path}: expected an id such as "
            "CKV_AWS_18 or CKV2_AWS_71"
        )
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"checkov {check_id} on {resource.node.path}: give a specific reason "
            f"(at least {MIN_REASON_LENGTH} characters)"
        )
    current: dict[str, Any] = dict(resource.get_metadata(METADATA_KEY) or {})
    skips = [skip for skip in current.get("skip", []) if skip.get("id") != check_id]
    skips.append({"id": check_id, "comment": reason.strip()})
    resource.add_metadata(METADATA_KEY, {**current, "skip": skips})
