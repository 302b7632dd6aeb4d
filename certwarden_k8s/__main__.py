"""``python -m certwarden_k8s``: manifests for every environment with a ``kubernetes`` section."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cdk_app.config import ConfigError, load_config, select_environments
from certwarden_runtime.policy import DEFAULT_POLICY, PolicyError

from .generate import synth_environment, write_rule_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="certwarden_k8s", description=__doc__)
    parser.add_argument("--config", default="config/environments.yaml", type=Path)
    parser.add_argument("--out", default="k8s-out", type=Path, help="writes OUT/<environment>/")
    parser.add_argument("--env", default=None, help="one environment (default: all)")
    parser.add_argument(
        "--rules", type=Path, default=None, help="also write the alert rules as a plain file"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, DEFAULT_POLICY)
        environments = select_environments(config, args.env)
        for env in environments:
            if env.kubernetes is None:
                print(f"{env.name}: no 'kubernetes' section; skipped")
                continue
            written = synth_environment(env, args.out / env.name, DEFAULT_POLICY)
            print(f"{env.name}: {', '.join(str(p) for p in written)}")
        if args.rules is not None:
            print(f"alert rules: {write_rule_file(args.rules, DEFAULT_POLICY)}")
    except (ConfigError, PolicyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
