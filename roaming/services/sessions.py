"""Charging sessions: start, stop, and every move of their state machine.

A session moves only through `session_transition`, which checks the move against
`SESSION_TRANSITIONS` and records it, with its cause, on the session's timeline.
"""

from django.db import transaction
from django.utils import timezone

from roaming.models import SESSION_TRANSITIONS, ChargingSession, SessionEvent


class SessionError(Exception):
    """A charging request we cannot carry out, with a message the driver can act on.

    `code` names the case for API clients (`no_card`, `card_declined`, `evse_unavailable`,
    `partner_unavailable`, `command_rejected`, `no_answer`, `already_charging`, ...)."""

    def __init__(self, message: str, *, code: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


@transaction.atomic
def session_transition(*, session: ChargingSession, to: str, cause: str, message: str = "") -> bool:
    """Move the session to `to` and record why; False (and nothing changed) when the move is
    not allowed from where the session is now, or it is already there.

    The row is locked for the move, so two concurrent causes (a CommandResult and a Session
    PUT) are applied one after the other, each seeing the other's result.
    """
    locked = ChargingSession.objects.select_for_update().get(pk=session.pk)
    if to not in SESSION_TRANSITIONS[locked.state]:
        session.state = locked.state
        return False
    SessionEvent.objects.create(session=locked, from_state=locked.state, to_state=to, cause=cause)
    fields = {"state": to, "updated_at": timezone.now()}
    if message:
        fields["state_message"] = message
    ChargingSession.objects.filter(pk=locked.pk).update(**fields)
    session.state = to
    if message:
        session.state_message = message
    return True


def session_note(*, session: ChargingSession, cause: str) -> None:
    """Record something that happened to the session without changing its state."""
    SessionEvent.objects.create(session=session, cause=cause)
