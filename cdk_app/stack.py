"""The deployable stacks: one CertWarden stack per environment plus its replica-region stack.

The stacks only wire constructs together from the environment configuration; every security
property lives in a construct of ``certwarden_cdk`` so that other apps importing them get it too.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from cdk_app.config import EnvironmentConfig
from certwarden_cdk.access_logs_bucket import AccessLogsBucket
from certwarden_cdk.acm_account_expiry_events import AcmAccountExpiryEvents
from certwarden_cdk.alert_topics import AlertTopics
from certwarden_cdk.audit_replica_bucket import AuditReplicaBucket, replica_key_alias_arn
from certwarden_cdk.audit_trail import AuditTrail
from certwarden_cdk.cert_manager_irsa_role import CertManagerIrsaRole
from certwarden_cdk.certificate_dashboard import CertificateDashboard
from certwarden_cdk.certificate_event_rules import CertificateEventRules
from certwarden_cdk.certificate_expiry_alarms import CertificateExpiryAlarms
from certwarden_cdk.certificate_watch_function import CertificateWatchFunction
from certwarden_cdk.encryption_keys import EncryptionKeys
from certwarden_cdk.function_network import FunctionNetwork
from certwarden_cdk.private_ca_issuer_irsa_role import PrivateCaIssuerIrsaRole
from certwarden_cdk.private_certificate_authority import PrivateCertificateAuthority
from certwarden_cdk.public_certificate import PublicCertificate
from certwarden_cdk.reports_bucket import ReportsBucket
from certwarden_cdk.tls_scanner_function import TlsScannerFunction
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy


def _apply_tags(stack: cdk.Stack, config: EnvironmentConfig, policy: CompliancePolicy) -> None:
    for key, value in sorted(config.resource_tags(policy).items()):
        cdk.Tags.of(stack).add(key, value)


class CertWardenReplicaStack(cdk.Stack):
    """The replica-region stack: the bucket the audit logs and reports are copied to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        policy: CompliancePolicy = DEFAULT_POLICY,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=config.replica_region),
            description=f"CertWarden {config.name}: audit log replica ({config.replica_region})",
            **kwargs,
        )
        self.replica = AuditReplicaBucket(
            self,
            "AuditReplica",
            bucket_name=config.audit.replica_bucket_name,
            source_account=config.account,
            object_lock_mode=config.audit.object_lock_mode,
            object_lock_years=config.audit.object_lock_years,
            policy=policy,
        )
        _apply_tags(self, config, policy)


class CertWardenStack(cdk.Stack):
    """Certificates, their alarms and alerts, the audit trail and the daily certificate job."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        policy: CompliancePolicy = DEFAULT_POLICY,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=config.region),
            description=f"CertWarden {config.name}: HIPAA-grade certificate management",
            **kwargs,
        )
        self.config = config
        self.keys = EncryptionKeys(self, "Keys", alias_prefix=f"certwarden/{config.name}")
        self.access_logs = AccessLogsBucket(self, "AccessLogs", policy=policy)
        replica_key_arn = replica_key_alias_arn(
            config.audit.replica_bucket_name, config.replica_region, config.account
        )
        self.audit = AuditTrail(
            self,
            "Audit",
            key=self.keys.logs_key,
            access_logs_bucket=self.access_logs.bucket,
            replica_bucket_name=config.audit.replica_bucket_name,
            replica_region=config.replica_region,
            replica_key_arn=replica_key_arn,
            object_lock_mode=config.audit.object_lock_mode,
            object_lock_years=config.audit.object_lock_years,
            policy=policy,
        )
        # Reports carry the run's audit records: copied to the same replica bucket as the trail
        # (their keys never collide: AWSLogs/ vs reports/, state/, tls-scans/).
        self.reports = ReportsBucket(
            self,
            "Reports",
            key=self.keys.data_key,
            access_logs_bucket=self.access_logs.bucket,
            replica_bucket_name=config.audit.replica_bucket_name,
            replica_region=config.replica_region,
            replica_key_arn=replica_key_arn,
            policy=policy,
        )
        self.alerts = AlertTopics(
            self,
            "Alerts",
            key=self.keys.alerts_key,
            critical_emails=list(config.alert_emails.critical),
            warning_emails=list(config.alert_emails.warning),
        )
        self.public_certificate = PublicCertificate(
            self,
            "PublicCertificate",
            domain_names=list(config.domains),
            hosted_zone_id=config.hosted_zone.id,
            hosted_zone_name=config.hosted_zone.name,
            key_algorithm=config.key_algorithm,
            policy=policy,
        )
        self.private_ca: PrivateCertificateAuthority | None = None
        if config.private_ca.enabled:
            self.private_ca = PrivateCertificateAuthority(
                self,
                "PrivateCa",
                common_name=config.private_ca.common_name,
                organization=config.private_ca.organization,
                country=config.private_ca.country,
                root_validity_years=config.private_ca.root_validity_years,
                access_logs_bucket=self.access_logs.bucket,
                policy=policy,
            )
        self.expiry_alarms = CertificateExpiryAlarms(
            self,
            "ExpiryAlarms",
            certificates={"public": self.public_certificate.certificate},
            warning_topic=self.alerts.warning_topic,
            critical_topic=self.alerts.critical_topic,
            policy=policy,
        )
        self.event_rules = CertificateEventRules(
            self,
            "CertificateEvents",
            warning_topic=self.alerts.warning_topic,
            critical_topic=self.alerts.critical_topic,
        )
        if config.manage_account_expiry_events:
            AcmAccountExpiryEvents(self, "AcmAccountExpiryEvents", policy=policy)

        if config.vpc is not None:
            self.network = FunctionNetwork.from_existing(
                self,
                "Network",
                vpc_id=config.vpc.vpc_id,
                availability_zones=list(config.vpc.availability_zones),
                private_subnet_ids=list(config.vpc.private_subnet_ids),
            )
        else:
            self.network = FunctionNetwork(
                self, "Network", logs_key=self.keys.logs_key, policy=policy
            )
        self.watch = CertificateWatchFunction(
            self,
            "CertificateWatch",
            environment_name=config.name,
            network=self.network,
            env_key=self.keys.data_key,
            logs_key=self.keys.logs_key,
            alerts_key=self.keys.alerts_key,
            warning_topic=self.alerts.warning_topic,
            critical_topic=self.alerts.critical_topic,
            reports_bucket=self.reports.bucket,
            reports_key=self.keys.data_key,
            alarm_topic=self.alerts.critical_topic,
            regions=list(config.inventory_regions),
            policy=policy,
        )
        self.dashboard = CertificateDashboard(
            self,
            "Dashboard",
            environment_name=config.name,
            policy=policy,
            job_function=self.watch.function,
        )
        self.scanner: TlsScannerFunction | None = None
        if config.scan_targets:
            # Outside the VPC: the endpoints it checks are public ones (see docs/scanner.md).
            self.scanner = TlsScannerFunction(
                self,
                "TlsScanner",
                environment_name=config.name,
                targets=config.scan_targets,
                reports_bucket=self.reports.bucket,
                encryption_key=self.keys.data_key,
                reports_key=self.keys.data_key,
                alert_topic=self.alerts.critical_topic,
                alerts_key=self.keys.alerts_key,
                policy=policy,
            )
        self._add_kubernetes_roles(config)
        if self.private_ca is not None:
            cdk.CfnOutput(
                self,
                "IssuingCaArn",
                value=self.private_ca.issuing_ca_arn,
                description="Issuing CA ARN: set kubernetes.private_ca_arn to it in the config",
            )
        _apply_tags(self, config, policy)

    @property
    def availability_zones(self) -> list[str]:
        """Zones for the VPC the stack creates, resolved at deploy time (``Fn::GetAZs``).

        The default getter is a context lookup for a stack with a concrete account and region,
        which needs AWS credentials at synth; hard-coded names differ between accounts.
        """
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(2)]

    def _add_kubernetes_roles(self, config: EnvironmentConfig) -> None:
        """IRSA roles for cert-manager and aws-privateca-issuer, named as the manifests expect."""
        k8s = config.kubernetes
        self.cert_manager_role: CertManagerIrsaRole | None = None
        self.private_ca_issuer_role: PrivateCaIssuerIrsaRole | None = None
        if k8s is None:
            return
        self.cert_manager_role = CertManagerIrsaRole(
            self,
            "CertManagerRole",
            oidc_provider_arn=k8s.oidc_provider_arn,
            hosted_zone_id=config.hosted_zone.id,
            role_name=k8s.cert_manager_role_arn.rsplit("/", 1)[1],
        )
        if k8s.private_ca_issuer_role_arn is None:
            return
        assert self.private_ca is not None, "config validation requires private_ca.enabled"
        self.private_ca_issuer_role = PrivateCaIssuerIrsaRole(
            self,
            "PrivateCaIssuerRole",
            oidc_provider_arn=k8s.oidc_provider_arn,
            certificate_authority_arn=self.private_ca.issuing_ca_arn,
            namespace=k8s.private_ca_issuer_namespace,
            service_account=k8s.private_ca_issuer_service_account,
            role_name=k8s.private_ca_issuer_role_arn.rsplit("/", 1)[1],
        )
