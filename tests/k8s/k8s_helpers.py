"""Helpers for the Kubernetes manifest tests: strict CRD schemas, kubernetes-validate, and
where the shared CRD folder and promtool are.

The CRDs are read from ``$CERTWARDEN_K8S_CRDS`` (default ``../shared/k8s-crds`` beside the
checkout). Without them the schema tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from referencing import Registry, Resource

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = REPO_ROOT / "config" / "environments.yaml"
DEFAULT_CRDS_DIR = REPO_ROOT.parent / "shared" / "k8s-crds"
KUBERNETES_VERSION = "1.33.0"
_K8S_SCHEMAS = (
    Path(kubernetes_validate.__file__).parent
    / "kubernetes-json-schema"
    / f"v{KUBERNETES_VERSION}-local-strict"
)
K8S_DEFINITIONS = "https://kubernetes.io/api/_definitions.json#/$defs/"
OBJECT_META_REF = K8S_DEFINITIONS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

Manifest = dict[str, Any]
Validator = Callable[[Manifest], list[str]]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(what: str) -> None:
    """Skip with the reason, or fail under CI, where every proof must run."""
    if in_ci():
        pytest.fail(f"{what} (CI requires it)")
    pytest.skip(what)


def all_objects(files: dict[str, list[Manifest]]) -> list[Manifest]:
    return [obj for objects in files.values() for obj in objects]


def of_kind(files: dict[str, list[Manifest]], kind: str) -> list[Manifest]:
    return [obj for obj in all_objects(files) if obj["kind"] == kind]


def strictify(node: Any, *, in_combinator: bool = False) -> Any:
    """Reject unknown fields: ``additionalProperties: false`` wherever a node lists
    ``properties`` and says nothing about extra keys (never inside allOf/anyOf/oneOf/not,
    which Istio uses for ``required`` combinations); ``nullable`` becomes a null type."""
    if isinstance(node, list):
        return [strictify(item, in_combinator=in_combinator) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("allOf", "anyOf", "oneOf", "not"):
            result[key] = strictify(value, in_combinator=True)
        elif key in ("properties", "patternProperties"):
            result[key] = {k: strictify(v) for k, v in value.items()}
        elif key in ("enum", "default", "example", "x-kubernetes-validations"):
            result[key] = value
        else:
            result[key] = strictify(value, in_combinator=in_combinator)
    if result.pop("nullable", False) and isinstance(result.get("type"), str):
        result["type"] = [result["type"], "null"]
    if (
        "properties" in result
        and not in_combinator
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def crd_root(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's object schema plus apiVersion/kind (Istio omits them) and a strict ObjectMeta."""
    root = copy.deepcopy(schema)
    properties = root.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {"$ref": OBJECT_META_REF}
    root.setdefault("type", "object")
    root["additionalProperties"] = False
    return root


@functools.cache
def _k8s_registry() -> Registry[Any]:
    definitions = json.loads((_K8S_SCHEMAS / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema, registry=_k8s_registry())
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def validate_core(obj: Manifest) -> list[str]:
    """kubernetes-validate in strict mode (bundled schemas: works offline)."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path) or "<root>"
        return [f"{path}: {error.message}"]
    return []


def validate_k8s_definition(name: str, instance: Any) -> list[str]:
    """Check a fragment (a SecurityContext, ResourceRequirements...) against its Kubernetes
    type, strictly."""
    return schema_errors({"$ref": K8S_DEFINITIONS + name}, instance)


def cel_errors(schema: dict[str, Any], instance: Any, path: str = "") -> list[str]:
    """Evaluate the schema's ``x-kubernetes-validations`` (CEL) rules that jsonschema ignores,
    with ``self`` bound to the matching part of ``instance``. Transition rules (``oldSelf``)
    only apply to updates and are skipped. Returns failed rules and rules that could not be
    evaluated."""
    import celpy
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    problems: list[str] = []
    environment = celpy.Environment()
    for rule in schema.get("x-kubernetes-validations", []) or []:
        if "oldSelf" in rule["rule"]:
            continue
        try:
            program = environment.program(environment.compile(rule["rule"]))
            result = program.evaluate({"self": json_to_cel(instance)})
        except Exception as error:  # CELParseError, CELEvalError, missing extension functions
            problems.append(f"{path or '<root>'}: cannot evaluate {rule['rule']!r}: {error}")
            continue
        if isinstance(result, CELEvalError) or not bool(result):
            message = rule.get("message", rule["rule"])
            problems.append(f"{path or '<root>'}: {message} ({rule['rule']})")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            child = properties.get(key, extra if isinstance(extra, dict) else None)
            if child is not None:
                problems += cel_errors(child, value, f"{path}.{key}".lstrip("."))
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(instance):
            problems += cel_errors(schema["items"], value, f"{path}[{index}]")
    return problems
