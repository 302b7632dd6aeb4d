#!/usr/bin/env python3
"""CDK entry point: one stack (plus its replica stack) per configured environment."""

from cdk_app.main import main

if __name__ == "__main__":
    main()
