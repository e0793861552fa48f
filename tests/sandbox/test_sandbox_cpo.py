"""`manage.py sandbox_cpo` as a newcomer runs it: a real process on a real port."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.sandbox.fixtures import ROOT, EmspReceiver, auth, register


def sandbox_cpo_run(*args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py sandbox_cpo` with these arguments, to its end (for those that end it)."""
    return subprocess.run(
        [sys.executable, "manage.py", "sandbox_cpo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_prints_its_versions_url_and_serves_ocpi(
    sandbox_cpo_process, emsp_receiver: EmspReceiver
) -> None:
    sandbox = sandbox_cpo_process("--stations", "300", "--seed", "3", token_a="let-me-in")
    assert sandbox.versions_url.startswith("http://127.0.0.1:")
    versions = httpx.get(sandbox.versions_url, headers=auth("let-me-in"))
    assert versions.json()["data"][0]["version"] == "2.2.1"
    token_c = register(sandbox, emsp_receiver)
    reply = httpx.get(
        sandbox.versions_url.removesuffix("versions") + "2.2.1/locations?limit=1",
        headers=auth(token_c),
    )
    assert reply.headers["X-Total-Count"] == "300"


def test_command_speaks_the_ocpi_version_asked_for(sandbox_cpo_process) -> None:  # type: ignore[no-untyped-def]
    sandbox = sandbox_cpo_process("--stations", "5", "--ocpi-version", "2.1.1", token_a="in")
    [version] = httpx.get(sandbox.versions_url, headers={"Authorization": "Token in"}).json()[
        "data"
    ]
    assert version["version"] == "2.1.1"
    details = httpx.get(version["url"], headers={"Authorization": "Token in"}).json()["data"]
    assert details["version"] == "2.1.1"
    # 2.1.1 lists its modules without roles.
    assert all(set(endpoint) == {"identifier", "url"} for endpoint in details["endpoints"])
    refused = sandbox_cpo_run("--ocpi-version", "3.0")
    assert refused.returncode != 0
    assert "--ocpi-version is one of 2.1.1, 2.2.1, 2.3.0" in refused.stderr


def test_command_refuses_a_bad_region_with_a_clear_message() -> None:
    result = sandbox_cpo_run("--region", "Amsterdam")
    assert result.returncode != 0
    assert '--region takes "lat,lon"' in result.stderr


def test_help_documents_the_options() -> None:
    result = sandbox_cpo_run("--help")
    for option in (
        "--stations",
        "--token-a",
        "--region",
        "--status-churn",
        "--fail-rate",
        "--latency-ms",
        "--accept-raw-tokens",
        "--push-interval",
    ):
        assert option in result.stdout
