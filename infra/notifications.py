"""The topic that tells people when the retrier gives up (and, optionally, when it recovered)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class NotificationTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)

        # A key of our own, not aws/sns: CloudWatch alarms can only publish to a topic whose
        # key policy lets them.
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the Image Builder retrier's notifications",
            enable_key_rotation=True,
        )
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Image Builder retrier",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
