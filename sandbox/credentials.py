"""The credentials module, receiving side: token A -> the eMSP's token B -> our token C.

1. The eMSP calls our versions and details with token A, then POSTs its credentials (token B,
   its versions URL, its roles), still with token A.
2. Before answering we call the eMSP's versions and version details with token B (3001 if it
   cannot be reached, 3002 without our version, 3003 without a credentials endpoint).
3. We answer with our credentials holding a new token C. From then on the eMSP calls us with C,
   we push to it with B, and token A no longer opens anything.
PUT (with C) repeats step 2 with a new token B and rotates C; DELETE forgets the registration,
after which the configured token A works again, so a developer can register afresh.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pydantic

from roaming.ocpi.v221.schemas import Credentials
from roaming.ocpi.v230.schemas import Version
from sandbox.config import SandboxConfig
from sandbox.dialects import DIALECTS
from sandbox.errors import OcpiError

Who = Literal["A", "C"]
# Registering the wrong way round for the token used: (method, who) -> (message, Allow).
_WRONG_METHOD: dict[tuple[str, Who | None], tuple[str, str]] = {
    ("POST", "C"): (
        "Already registered: use PUT to update or rotate credentials.",
        "GET, PUT, DELETE",
    ),
    ("PUT", "A"): ("Not registered yet: POST your credentials first.", "GET, POST"),
}


@dataclass
class Registration:
    """The registered eMSP: its token B, versions URL, endpoints (module -> URL) and roles."""

    token_b: str
    token_c: str
    versions_url: str
    endpoints: dict[str, str] = field(default_factory=dict)
    roles: list[dict[str, Any]] = field(default_factory=list)

    def push_headers(self, config: SandboxConfig) -> dict[str, str]:
        dialect = DIALECTS[config.ocpi_version]
        headers = {"Authorization": dialect.auth_header(self.token_b)}
        if dialect.version == "2.1.1":
            return headers  # 2.1.1 has no routing headers
        headers["OCPI-from-country-code"] = config.country_code
        headers["OCPI-from-party-id"] = config.party_id
        emsp = next((r for r in self.roles if r.get("role") == "EMSP"), None)
        if emsp:
            headers["OCPI-to-country-code"] = emsp["country_code"]
            headers["OCPI-to-party-id"] = emsp["party_id"]
        return headers

    def authorization_ask(
        self,
        config: SandboxConfig,
        token_uid: str,
        token_type: str | None,
        references: dict[str, Any],
    ) -> dict[str, Any]:
        """POST the eMSP's tokens sender `{uid}/authorize[?type=]` with the LocationReferences;
        its whole answer (the envelope)."""
        reply = httpx.post(
            f"{self.endpoints['tokens'].rstrip('/')}/{token_uid}/authorize",
            params={"type": token_type} if token_type else None,
            json=references,
            headers={
                **self.push_headers(config),
                **DIALECTS[config.ocpi_version].request_headers(self.token_b),
            },
            timeout=config.push_timeout,
        )
        answer: dict[str, Any] = reply.json()
        return answer


def _decode_token(header: str | None, *, accept_raw: bool) -> list[str]:
    """Candidate tokens in an Authorization header: base64-decoded, and raw if allowed."""
    if not header or not header.startswith("Token "):
        return []
    value = header[len("Token ") :].strip()
    candidates = []
    with contextlib.suppress(binascii.Error, UnicodeDecodeError):
        candidates.append(base64.b64decode(value, validate=True).decode())
    if accept_raw:
        candidates.append(value)
    return candidates


class CredentialsDesk:
    """Knows token A, the current registration, and who a request's token belongs to."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.dialect = DIALECTS[config.ocpi_version]
        self.registration: Registration | None = None
        self.lock = threading.Lock()

    def who(self, header: str | None) -> Who | None:
        raw = self.config.accept_raw_tokens or self.dialect.raw_tokens
        for token in _decode_token(header, accept_raw=raw):
            registration = self.registration
            if registration and secrets.compare_digest(token, registration.token_c):
                return "C"
            if registration is None and secrets.compare_digest(token, self.config.token_a):
                return "A"
        return None

    def our_credentials(self, token: str) -> dict[str, Any]:
        party = {
            "business_details": {
                "name": "Plugway Sandbox CPO",
                "website": "https://sandbox.plugway.example.com",
            },
            "party_id": self.config.party_id,
            "country_code": self.config.country_code,
        }
        return self.dialect.credentials(token, self.config.versions_url, party)

    def peer_party(self) -> dict[str, str]:
        """The registered eMSP's country_code and party_id (its first role)."""
        roles = self.registration.roles if self.registration else []
        return {key: roles[0][key] for key in ("country_code", "party_id")} if roles else {}

    def register(self, body: Any, *, who: Who | None, method: str) -> dict[str, Any]:
        """POST (who == "A") or PUT (who == "C"): call the eMSP back, then issue token C."""
        with self.lock:
            wrong = _WRONG_METHOD.get((method, who))
            if wrong is not None:
                message, allow = wrong
                raise OcpiError(
                    message, status_code=2000, http_status=405, headers={"Allow": allow}
                )
            try:
                credentials = Credentials.model_validate(self.dialect.credentials_read(body))
            except pydantic.ValidationError as exc:
                raise OcpiError(f"Invalid credentials object: {_first_error(exc)}") from exc
            endpoints = self._peer_endpoints(credentials.url, credentials.token)
            registration = Registration(
                token_b=credentials.token,
                token_c=secrets.token_urlsafe(32),
                versions_url=credentials.url,
                endpoints=endpoints,
                roles=[role.model_dump(mode="json") for role in credentials.roles],
            )
            self.registration = registration
            return self.our_credentials(registration.token_c)

    def register_with(self, versions_url: str, token_a: str) -> None:
        """Register with an eMSP that invited us (we are the Sender of credentials then):
        fetch its endpoints with its token A, POST our credentials holding a new token C for
        it to call us with, and keep the token B it answers with for our pushes.

        Raises OcpiError when the eMSP cannot be reached or refuses."""
        endpoints = self._peer_endpoints(versions_url, token_a)
        registration = Registration(
            token_b="", token_c=secrets.token_urlsafe(32), versions_url=versions_url
        )
        registration.endpoints = endpoints
        with self.lock:
            # The eMSP calls our versions with token C before it answers.
            self.registration = registration
        timeout = httpx.Timeout(self.config.push_timeout, connect=min(self.config.push_timeout, 2))
        try:
            reply = httpx.post(
                endpoints["credentials"],
                json=self.our_credentials(registration.token_c),
                headers=self.dialect.request_headers(token_a),
                timeout=timeout,
            )
            envelope = reply.json()
            credentials = Credentials.model_validate(
                self.dialect.credentials_read(envelope["data"])
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError, pydantic.ValidationError) as exc:
            with self.lock:
                self.registration = None
            raise OcpiError(f"The eMSP refused our credentials ({str(exc)[:200]}).") from exc
        registration.token_b = credentials.token
        registration.roles = [role.model_dump(mode="json") for role in credentials.roles]

    def unregister(self, *, who: Who | None) -> None:
        with self.lock:
            if who != "C" or self.registration is None:
                raise OcpiError(
                    "Not registered: there is nothing to delete.",
                    status_code=2000,
                    http_status=405,
                    headers={"Allow": "GET, POST"},
                )
            self.registration = None

    def _peer_endpoints(self, versions_url: str, token_b: str) -> dict[str, str]:
        """Fetch the eMSP's endpoints in our version with token B (3001 / 3002 / 3003)."""
        version = self.dialect.version
        timeout = httpx.Timeout(self.config.push_timeout, connect=min(self.config.push_timeout, 2))
        try:
            with httpx.Client(timeout=timeout) as client:
                versions_reply = client.get(
                    versions_url, headers=self.dialect.request_headers(token_b)
                )
                versions_reply.raise_for_status()
                listed = versions_reply.json()["data"]
                mine = next(
                    (
                        Version.model_validate(item)
                        for item in listed
                        if isinstance(item, dict) and item.get("version") == version
                    ),
                    None,
                )
                if mine is None:
                    raise OcpiError(
                        f"No mutual version: this sandbox speaks OCPI {version} only.",
                        status_code=3002,
                        http_status=200,
                    )
                details_reply = client.get(mine.url, headers=self.dialect.request_headers(token_b))
                details_reply.raise_for_status()
                endpoints = self.dialect.peer_endpoints(details_reply.json()["data"])
        except OcpiError:
            raise
        except (httpx.HTTPError, ValueError, KeyError, TypeError, pydantic.ValidationError) as exc:
            raise OcpiError(
                f"Could not fetch your versions or version details with the token you sent "
                f"({type(exc).__name__}: {str(exc)[:200]}).",
                status_code=3001,
                http_status=200,
            ) from exc
        if "credentials" not in endpoints:
            raise OcpiError(
                "Your version details list no credentials endpoint.",
                status_code=3003,
                http_status=200,
            )
        return endpoints


def _first_error(exc: pydantic.ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
