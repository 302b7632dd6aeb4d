"""CertWarden runtime: certificate operations that run in the Lambda and from the CLI.

This package depends on boto3 and the standard library only; it never imports aws_cdk.
"""

__version__ = "0.1.0"
