"""CertWarden constructs: HIPAA-grade certificate infrastructure for your own CDK apps.

Import what you need from the submodules (one construct per file), for example
``from certwarden_cdk.public_certificate import PublicCertificate``, and register the
compliance rule packs once per app with
``certwarden_cdk.compliance.apply_compliance_checks(app)``.
"""
