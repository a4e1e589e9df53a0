"""The attempt ledger: one DynamoDB item per image build version, written conditionally.

An attempt is reserved by one conditional UpdateItem that checks and spends the budget at
once, so concurrent invocations and redeliveries never add up to more than ``max_attempts``
RetryImage calls for one image. The event ids that hold an attempt are kept, so a redelivered
event finds its own attempt again instead of taking a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY = "image_build_version_arn"
# A give-up notice claimed by an invocation that then died may be claimed again after this.
NOTICE_LEASE = timedelta(minutes=5)


class ReservationKind(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    BUDGET_SPENT = "budget_spent"


@dataclass(frozen=True)
class Reservation:
    kind: ReservationKind
    attempt: int
    attempts_made: int


class Outcome(StrEnum):
    RETRYING = "retrying"
    GAVE_UP = "gave_up"
    RECOVERED = "recovered"


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class AttemptLedger:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int) -> None:
        self._client = client
        self._table_name = table_name
        self._retention = timedelta(days=retention_days)

    def _update(self, image_build_version_arn: str, **kwargs: Any) -> Any:
        return self._client.update_item(
            TableName=self._table_name, Key={KEY: {"S": image_build_version_arn}}, **kwargs
        )

    def reserve_attempt(
        self,
        image_build_version_arn: str,
        event_id: str,
        client_token: str,
        max_attempts: int,
        now: datetime,
        reason: str = "",
    ) -> Reservation:
        entry = {
            "M": {
                "event_id": {"S": event_id},
                "client_token": {"S": client_token},
                "reserved_at": {"S": now.isoformat()},
            }
        }
        try:
            response = self._update(
                image_build_version_arn,
                UpdateExpression=(
                    "ADD attempts :one, event_ids :event_set "
                    "SET attempt_log = list_append(if_not_exists(attempt_log, :empty), :entry), "
                    "outcome = :retrying, last_decision = :retry, last_reason = :reason, "
                    "updated_at = :now, expires_at = :expires"
                ),
                ConditionExpression=(
                    "(attribute_not_exists(attempts) OR attempts < :max) "
                    "AND NOT contains(event_ids, :event_id)"
                ),
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":max": {"N": str(max_attempts)},
                    ":event_set": {"SS": [event_id]},
                    ":event_id": {"S": event_id},
                    ":empty": {"L": []},
                    ":entry": {"L": [entry]},
                    ":retrying": {"S": Outcome.RETRYING.value},
                    ":retry": {"S": "retry"},
                    ":reason": {"S": reason or "-"},
                    ":now": {"S": now.isoformat()},
                    ":expires": {"N": str(int((now + self._retention).timestamp()))},
                },
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            old_item: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
            return _refused(old_item, event_id)

        attempts = int(response["Attributes"]["attempts"]["N"])
        return Reservation(ReservationKind.NEW, attempt=attempts, attempts_made=attempts)

    def record_decision(
        self, image_build_version_arn: str, decision: str, reason: str, now: datetime
    ) -> None:
        self._update(
            image_build_version_arn,
            UpdateExpression="SET last_decision = :decision, last_reason = :reason, "
            "updated_at = :now",
            ConditionExpression=f"attribute_exists({KEY})",
            ExpressionAttributeValues={
                ":decision": {"S": decision},
                ":reason": {"S": reason},
                ":now": {"S": now.isoformat()},
            },
        )

    def claim_give_up_notice(
        self, image_build_version_arn: str, reason: str, now: datetime
    ) -> bool:
        """Mark the image given up; True for the one caller that should tell a person."""
        try:
            self._update(
                image_build_version_arn,
                UpdateExpression="SET outcome = :gave_up, last_decision = :gave_up, "
                "last_reason = :reason, give_up_notice = :claimed, notice_claimed_at = :now",
                ConditionExpression="attribute_exists(attempts) AND "
                "(attribute_not_exists(give_up_notice) OR "
                "(give_up_notice = :claimed AND notice_claimed_at < :lease_expired))",
                ExpressionAttributeValues={
                    ":gave_up": {"S": Outcome.GAVE_UP.value},
                    ":reason": {"S": reason},
                    ":claimed": {"S": "claimed"},
                    ":now": {"S": now.isoformat()},
                    ":lease_expired": {"S": (now - NOTICE_LEASE).isoformat()},
                },
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def confirm_give_up_notice(self, image_build_version_arn: str) -> None:
        self._update(
            image_build_version_arn,
            UpdateExpression="SET give_up_notice = :sent",
            ExpressionAttributeValues={":sent": {"S": "sent"}},
        )

    def release_give_up_notice(self, image_build_version_arn: str) -> None:
        self._update(
            image_build_version_arn,
            UpdateExpression="REMOVE give_up_notice, notice_claimed_at",
        )

    def record_recovery(self, image_build_version_arn: str, now: datetime) -> int | None:
        """Mark a retried image recovered; the attempts it took, or None if not ours or done."""
        try:
            response = self._update(
                image_build_version_arn,
                UpdateExpression="SET outcome = :recovered, recovered_at = :now, "
                "last_decision = :recovered",
                ConditionExpression="attribute_exists(attempts) AND outcome <> :recovered",
                ExpressionAttributeValues={
                    ":recovered": {"S": Outcome.RECOVERED.value},
                    ":now": {"S": now.isoformat()},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return int(response["Attributes"]["attempts"]["N"])

    def history(self, image_build_version_arn: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key={KEY: {"S": image_build_version_arn}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item


def _refused(old_item: dict[str, Any], event_id: str) -> Reservation:
    attempts_made = int(old_item.get("attempts", {}).get("N", "0"))
    for number, entry in enumerate(old_item.get("attempt_log", {}).get("L", []), start=1):
        if entry["M"]["event_id"]["S"] == event_id:
            return Reservation(ReservationKind.DUPLICATE, number, attempts_made)
    return Reservation(ReservationKind.BUDGET_SPENT, attempts_made, attempts_made)


def utc_now() -> datetime:
    return datetime.now(UTC)
