"""What the catalogue raises when it cannot take a write: messages for the person who sent it.

Protocol-neutral: a caller maps these to its own answer (the OCPI receivers to status codes).
"""


class CatalogueError(Exception):
    """A write the catalogue cannot take (an impossible value, a field that cannot be patched),
    with a message for the partner's engineer. Nothing was written."""


class UnknownObjectError(CatalogueError):
    """The write names a Location, EVSE or connector (or its parent) we do not hold: the sender
    should send the whole object first."""


class CatalogueUnavailableError(CatalogueError):
    """The catalogue cannot take the write right now (its status queue does not answer);
    nothing was stored, and the same write may be sent again shortly."""
