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


class Notice(StrEnum):
    """The notices a person gets at most once per image; each is also the image's outcome."""

    GAVE_UP = "gave_up"
    NEEDS_FIX = "needs_fix"


@dataclass(frozen=True)
class Reservation:
    kind: ReservationKind
    attempt: int
    attempts_made: int
    # For a duplicate: whether a later attempt or a final outcome has overtaken this one,
    # and which failed run of the image the attempt was reserved for.
    superseded: bool = False
    failed_execution: str | None = None
    # The token the attempt was reserved with; a duplicate repeats the call with it.
    client_token: str | None = None
    # When the budget is spent: the notices already sent for the image, as the refusal read.
    notices_sent: frozenset[Notice] = frozenset()
    # When the attempt was reserved: by this delivery, or by the one whose attempt it found.
    reserved_at: datetime | None = None


class Outcome(StrEnum):
    RETRYING = "retrying"
    GAVE_UP = "gave_up"
    NEEDS_FIX = "needs_fix"
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
        failed_execution: str | None = None,
        cause: str | None = None,
    ) -> Reservation:
        entry = {
            "M": {
                "event_id": {"S": event_id},
                "client_token": {"S": client_token},
                "reserved_at": {"S": now.isoformat()},
                "failed_execution": {"S": failed_execution or "-"},
            }
        }
        # One failed run of the image gets one attempt, whichever event (or the sweeper) asks.
        same_run_condition = ""
        run_values: dict[str, Any] = {}
        run_update = ""
        if failed_execution:
            same_run_condition = " AND NOT contains(failed_executions, :run)"
            run_update = ", failed_executions :run_set"
            run_values = {":run": {"S": failed_execution}, ":run_set": {"SS": [failed_execution]}}
        try:
            response = self._update(
                image_build_version_arn,
                UpdateExpression=(
                    f"ADD attempts :one, event_ids :event_set{run_update} "
                    "SET attempt_log = list_append(if_not_exists(attempt_log, :empty), :entry), "
                    "outcome = :retrying, last_decision = :retry, last_reason = :reason, "
                    "last_cause = :cause, updated_at = :now, expires_at = :expires"
                ),
                ConditionExpression=(
                    "(attribute_not_exists(attempts) OR attempts < :max) "
                    f"AND NOT contains(event_ids, :event_id){same_run_condition}"
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
                    ":cause": {"S": (cause or "-")[:1000]},
                    ":now": {"S": now.isoformat()},
                    ":expires": {"N": str(int((now + self._retention).timestamp()))},
                    **run_values,
                },
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            old_item: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
            return _refused(old_item, event_id, failed_execution)

        attempts = int(response["Attributes"]["attempts"]["N"])
        return Reservation(
            ReservationKind.NEW,
            attempt=attempts,
            attempts_made=attempts,
            client_token=client_token,
            reserved_at=now,
        )

    def claim_notice(
        self, image_build_version_arn: str, notice: Notice, reason: str, now: datetime
    ) -> int | None:
        """Record the decision behind a notice. For the one caller that should send it, the
        attempts made so far (read in the same write); None for everyone else."""
        # A give-up needs attempts on record; a needs-fix may be the first thing recorded.
        needs_attempts = "attribute_exists(attempts) AND " if notice is Notice.GAVE_UP else ""
        try:
            response = self._update(
                image_build_version_arn,
                UpdateExpression="SET outcome = :outcome, last_decision = :outcome, "
                "last_reason = :reason, #notice = :claimed, #claimed_at = :now, "
                "updated_at = :now, expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression=f"{needs_attempts}(attribute_not_exists(#notice) OR "
                "(#notice = :claimed AND #claimed_at < :lease_expired))",
                ExpressionAttributeNames={
                    "#notice": f"{notice.value}_notice",
                    "#claimed_at": f"{notice.value}_notice_claimed_at",
                },
                ExpressionAttributeValues={
                    ":outcome": {"S": notice.value},
                    ":reason": {"S": reason},
                    ":claimed": {"S": "claimed"},
                    ":now": {"S": now.isoformat()},
                    ":lease_expired": {"S": (now - NOTICE_LEASE).isoformat()},
                    ":expires": {"N": str(int((now + self._retention).timestamp()))},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return int(response["Attributes"].get("attempts", {}).get("N", "0"))

    def confirm_notice(self, image_build_version_arn: str, notice: Notice) -> None:
        self._update(
            image_build_version_arn,
            UpdateExpression="SET #notice = :sent",
            ExpressionAttributeNames={"#notice": f"{notice.value}_notice"},
            ExpressionAttributeValues={":sent": {"S": "sent"}},
        )

    def release_notice(self, image_build_version_arn: str, notice: Notice) -> None:
        self._update(
            image_build_version_arn,
            UpdateExpression="REMOVE #notice, #claimed_at",
            ExpressionAttributeNames={
                "#notice": f"{notice.value}_notice",
                "#claimed_at": f"{notice.value}_notice_claimed_at",
            },
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

    def knows_run(self, image_build_version_arn: str, failed_run: str) -> bool:
        """Whether an event or a sweep has already handled this failed run of the image."""
        item = self.history(image_build_version_arn) or {}
        handled = set(item.get("failed_executions", {}).get("SS", [])) | set(
            item.get("swept_runs", {}).get("SS", [])
        )
        return failed_run in handled

    def mark_swept(self, image_build_version_arn: str, failed_run: str, now: datetime) -> None:
        self._update(
            image_build_version_arn,
            UpdateExpression="ADD swept_runs :run "
            "SET expires_at = if_not_exists(expires_at, :expires)",
            ExpressionAttributeValues={
                ":run": {"SS": [failed_run]},
                ":expires": {"N": str(int((now + self._retention).timestamp()))},
            },
        )

    def history(self, image_build_version_arn: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key={KEY: {"S": image_build_version_arn}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item


def _refused(old_item: dict[str, Any], event_id: str, failed_execution: str | None) -> Reservation:
    attempts_made = int(old_item.get("attempts", {}).get("N", "0"))
    outcome = old_item.get("outcome", {}).get("S", Outcome.RETRYING.value)
    entries = [entry["M"] for entry in old_item.get("attempt_log", {}).get("L", [])]
    runs = [entry.get("failed_execution", {}).get("S", "-") for entry in entries]
    # The event's own attempt first; else the attempt another event took for the same run.
    own = [n for n, entry in enumerate(entries) if entry["event_id"]["S"] == event_id]
    same_run = [n for n, run in enumerate(runs) if failed_execution and run == failed_execution]
    for index in own or same_run:
        number = index + 1
        return Reservation(
            ReservationKind.DUPLICATE,
            number,
            attempts_made,
            superseded=number < attempts_made or outcome != Outcome.RETRYING.value,
            failed_execution=None if runs[index] == "-" else runs[index],
            client_token=entries[index]["client_token"]["S"],
            reserved_at=datetime.fromisoformat(entries[index]["reserved_at"]["S"]),
        )
    notices_sent = frozenset(
        notice for notice in Notice if old_item.get(f"{notice.value}_notice", {}).get("S") == "sent"
    )
    return Reservation(
        ReservationKind.BUDGET_SPENT, attempts_made, attempts_made, notices_sent=notices_sent
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
