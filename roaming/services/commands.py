"""Commands we send to partners: their rows, the partner's CommandResponse and CommandResult,
and the sweep that ends commands whose result never came.

A command row is committed before it is sent, and answers are applied with conditional
updates: a result may overtake the response, and a repeated or late one changes nothing.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from payments.models import Payment
from roaming.adapters.base import CommandOutcome, CommandReply
from roaming.errors import PartnerError
from roaming.models import (
    ENDED_WITHOUT_CHARGE,
    ChargingSession,
    Command,
    CommandType,
    Partner,
    SessionState,
)
from roaming.ocpi.versions import absolute
from roaming.services.session_states import (
    NOTHING_CHARGED,
    session_end,
    session_hold_release,
    session_note,
    session_transition,
)

State = SessionState
# What each command is, in the words of the session's timeline (the driver reads it).
COMMAND_WORDS: dict[str, str] = {
    CommandType.START_SESSION: "the start",
    CommandType.STOP_SESSION: "the stop",
    CommandType.UNLOCK_CONNECTOR: "the unlock of the connector",
}
Status = Command.Status
# A start left waiting for the driver's bank (3-D Secure) is given up after this long.
AUTHENTICATION_WAIT = timedelta(minutes=15)


def command_create(
    *, partner: Partner, type: str, session: ChargingSession | None, **fields: Any
) -> Command:
    """A command row, committed before it is sent, due back within the grace at the latest
    (the response sets the real deadline)."""
    return Command.objects.create(
        partner=partner,
        session=session,
        type=type,
        result_due_at=timezone.now() + settings.CHARGING_COMMAND_GRACE,
        **fields,
    )


def command_response_url(command: Command) -> str:
    return absolute(
        reverse(
            "ocpi-command-result",
            kwargs={
                "version": command.partner.version or "2.2.1",
                "command_type": command.type,
                "public_id": command.public_id,
            },
        )
    )


def command_send_failed(*, command: Command, error: PartnerError) -> None:
    Command.objects.filter(pk=command.pk, status=Status.SENDING).update(
        status=Status.FAILED, message=error.message[:500], answered_at=timezone.now()
    )
    if command.session is not None:
        session_note(
            session=command.session,
            cause=f"{COMMAND_WORDS[command.type].capitalize()} could not be sent: {error.message}",
        )


def reply_words(reply: CommandReply) -> str:
    """What the partner said, for a sentence of ours: its message, else its result's name."""
    return (reply.message or reply.word.replace("_", " ").lower()).rstrip(".")


def command_response_apply(*, command: Command, reply: CommandReply) -> bool:
    """Record the partner's immediate answer; True when it accepted the command. A result that
    already arrived (it may overtake the response) is kept."""
    now = timezone.now()
    accepted = reply.outcome == CommandOutcome.ACCEPTED
    Command.objects.filter(pk=command.pk).update(response=reply.word)
    Command.objects.filter(pk=command.pk, status=Status.SENDING).update(
        status=Status.WAITING if accepted else Status.REFUSED,
        message=reply.message[:500],
        result_due_at=now + (reply.timeout or timedelta()) + settings.CHARGING_COMMAND_GRACE,
        answered_at=None if accepted else now,
    )
    session = command.session
    if session is not None:
        operator = session.operator_name or command.partner.name
        what = COMMAND_WORDS[command.type]
        session_note(
            session=session,
            cause=f"{operator} accepted {what}"
            if accepted
            else f"{operator} refused {what}: {reply_words(reply)}",
        )
    return accepted


# --- command results and timeouts ------------------------------------------------------------

START_FAILURES = {
    CommandOutcome.EVSE_OCCUPIED: "This charger is in use by someone else. {nothing} "
    "Pick another one.",
    CommandOutcome.EVSE_INOPERATIVE: "This charger is out of order. {nothing} Pick another one.",
}


def command_result_apply(*, command: Command, reply: CommandReply) -> None:
    """The partner's CommandResult for one of our commands. A second result, or one after the
    command timed out, is noted and changes nothing else."""
    now = timezone.now()
    accepted = reply.outcome == CommandOutcome.ACCEPTED
    first = Command.objects.filter(
        pk=command.pk, status__in=(Status.SENDING, Status.WAITING), result=""
    ).update(
        status=Status.SUCCEEDED if accepted else Status.REFUSED,
        result=reply.word,
        message=reply.message[:500],
        answered_at=now,
    )
    session = command.session
    what = COMMAND_WORDS[command.type]
    if session is None:
        return
    if not first:
        Command.objects.filter(pk=command.pk, result="").update(result=reply.word)
        session_note(
            session=session,
            cause=f"The charger answered {what} too late ({reply_words(reply)}): nothing changed",
        )
        return
    session.refresh_from_db()
    if command.type == CommandType.START_SESSION:
        start_result_follow(session=session, reply=reply)
    elif command.type == CommandType.STOP_SESSION and not accepted:
        session_transition(
            session=session,
            to=State.ACTIVE,
            cause=f"The charger did not stop: {reply_words(reply)}",
            message=f"The charger did not stop ({reply_words(reply)}). "
            "Try again, or unplug your car.",
        )
    else:
        session_note(
            session=session,
            cause=f"The charger carried out {what}"
            if accepted
            else f"The charger did not carry out {what}: {reply_words(reply)}",
        )


def start_result_follow(*, session: ChargingSession, reply: CommandReply) -> None:
    if session.state not in (State.REQUESTED, State.ACCEPTED):
        session_note(  # the Session itself got here first
            session=session,
            cause="The charger confirmed the start"
            if reply.outcome == CommandOutcome.ACCEPTED
            else f"The charger answered the start: {reply_words(reply)}",
        )
        return
    if reply.outcome == CommandOutcome.ACCEPTED:
        accepted = "The charger accepted the start"
        if not session_transition(session=session, to=State.ACCEPTED, cause=accepted):
            session_note(session=session, cause=accepted)  # accepted by the operator already
        return
    template = START_FAILURES.get(
        reply.outcome, f"The charger did not start ({reply_words(reply)}). {{nothing}}"
    )
    session_end(
        session=session,
        to=State.FAILED,
        cause=f"The charger did not start: {reply_words(reply)}",
        message=template.format(nothing=NOTHING_CHARGED),
    )


def commands_expire(*, now: datetime | None = None) -> int:
    """End every command whose result is overdue (the partner's timeout plus
    CHARGING_COMMAND_GRACE): a start times out and releases its hold unless the Session
    arrived meanwhile; a stop leaves the session charging with a message. Also gives up starts
    left waiting for the bank, and retries hold releases still owed. Returns how many commands
    it ended. Safe to run twice, or in two workers at once."""
    now = now or timezone.now()
    ended = 0
    overdue = Command.objects.filter(
        status__in=(Status.SENDING, Status.WAITING), result_due_at__lt=now
    ).select_related("session")
    for command in overdue:
        if not Command.objects.filter(
            pk=command.pk, status__in=(Status.SENDING, Status.WAITING)
        ).update(status=Status.TIMED_OUT, answered_at=now):
            continue  # answered, or taken by another worker, meanwhile
        ended += 1
        session = command.session
        if session is None:
            continue
        session.refresh_from_db()
        if command.type == CommandType.START_SESSION and session.state in (
            State.REQUESTED,
            State.ACCEPTED,
        ):
            session_end(
                session=session,
                to=State.TIMED_OUT,
                cause="No result from the charger in time",
                message=f"The charger did not answer. {NOTHING_CHARGED} "
                "Try again, or pick another charger.",
            )
        elif command.type == CommandType.STOP_SESSION and session.state == State.STOPPING:
            session_transition(
                session=session,
                to=State.ACTIVE,
                cause="No result to the stop in time",
                message="The charger did not confirm the stop, so it may still be charging. "
                "Try again, or unplug your car.",
            )
        else:
            session_note(
                session=session,
                cause=f"No answer from the charger to {COMMAND_WORDS[command.type]} in time",
            )
    for session in ChargingSession.objects.filter(
        state=State.REQUESTED, created_at__lt=now - AUTHENTICATION_WAIT, commands__isnull=True
    ):
        session_end(
            session=session,
            to=State.CANCELLED,
            cause="The bank's confirmation never came",
            message=f"The payment was never confirmed. {NOTHING_CHARGED}",
        )
    for session in (
        ChargingSession.objects.filter(state__in=ENDED_WITHOUT_CHARGE)
        .exclude(payment__isnull=True)
        .exclude(payment__status__in=Payment.FINAL)
    ):
        session_hold_release(session=session, reason=f"Session {session.state}: nothing to charge")
    return ended
