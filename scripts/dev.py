#!/usr/bin/env python3
"""Set up and run Plugway on this machine with nothing but python3.

    python3 scripts/dev.py run     # install, migrate, start the app and a sandbox CPO beside it
    python3 scripts/dev.py test    # install, run the test suite (extra args go to pytest)

The virtual environment in .venv is (re)installed from requirements-dev.lock whenever the lock
file changes, so a second run starts at once.
"""

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
LOCK = ROOT / "requirements-dev.lock"
INSTALLED_MARK = VENV / ".installed-lock-sha256"
SANDBOX_TOKEN_A = "sandbox-a"  # noqa: S105 - the sandbox CPO's fixed, local-only token A


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def install() -> None:
    """Create .venv and install the locked packages, unless this lock is already installed."""
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if INSTALLED_MARK.exists() and INSTALLED_MARK.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        say("creating .venv")
        venv.create(VENV, with_pip=True)
    say("installing locked packages (first run takes a minute)")
    subprocess.run(
        [
            BIN / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "-r",
            LOCK,
        ],
        check=True,
    )
    INSTALLED_MARK.write_text(wanted)


def manage(*args: str) -> None:
    subprocess.run([BIN / "python", "manage.py", *args], check=True, cwd=ROOT)


def localstripe_start(app_port: str) -> "subprocess.Popen[bytes] | None":
    """Start localstripe (a fake Stripe) when STRIPE_API_BASE is its loopback default."""
    base = os.environ.get("STRIPE_API_BASE", "http://127.0.0.1:8420")
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/?", base)
    if not match:
        return None
    say(f"starting localstripe, a fake Stripe, at {base} (test card: 4242 4242 4242 4242)")
    webhook = f"http://127.0.0.1:{app_port}/payments/stripe/webhook/"
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
    command = [BIN / "python", "scripts/localstripe_server.py", "--port", match[1]]
    command += ["--webhook-url", webhook, "--webhook-secret", secret]
    return subprocess.Popen(command, cwd=ROOT)


def sandbox_start() -> "subprocess.Popen[bytes] | None":
    """Start the sandbox OCPI CPO beside the app (see `sandbox_cpo --help`), unless real
    partners are configured already."""
    if subprocess.run(
        [BIN / "python", "manage.py", "sandbox_connect", "--check"], cwd=ROOT
    ).returncode:
        return None
    port = os.environ.get("SANDBOX_CPO_PORT", "9100")
    say(f"sandbox CPO: http://127.0.0.1:{port}/ocpi/versions  token A: {SANDBOX_TOKEN_A}")
    return subprocess.Popen(
        [
            BIN / "python",
            "manage.py",
            "sandbox_cpo",
            "--port",
            port,
            "--token-a",
            SANDBOX_TOKEN_A,
            "--status-churn",
            "2",
            "--quiet",
        ],
        cwd=ROOT,
    )


def sandbox_connect(app_url: str) -> None:
    """Once the app answers, register with the sandbox and pull its stations (in the
    background, so the server's output is not held up)."""
    port = os.environ.get("SANDBOX_CPO_PORT", "9100")
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{app_url}/healthz", timeout=1)  # noqa: S310 (our own loopback URL)
            break
        except OSError:
            time.sleep(0.5)
    say("registering with the sandbox CPO and pulling its stations")
    subprocess.run(
        [
            BIN / "python",
            "manage.py",
            "sandbox_connect",
            "--versions-url",
            f"http://127.0.0.1:{port}/ocpi/versions",
            "--token-a",
            SANDBOX_TOKEN_A,
        ],
        cwd=ROOT,
        check=False,
    )


def run(args: list[str]) -> int:
    install()
    say("migrating the database")
    manage("migrate", "--no-input")
    host, port = "127.0.0.1", os.environ.get("PORT", "8000")
    # Partners (the sandbox) call us back at the URL we hand out.
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
    sandbox = sandbox_start()
    children = [child for child in (sandbox, localstripe_start(port)) if child]
    if sandbox:
        threading.Thread(
            target=sandbox_connect, args=(f"http://{host}:{port}",), daemon=True
        ).start()
    say(f"Plugway is starting at http://{host}:{port}/  (admin: http://{host}:{port}/admin/)")
    say("create an admin login with: .venv/bin/python manage.py createsuperuser")
    try:
        return subprocess.call(
            [BIN / "python", "manage.py", "runserver", f"{host}:{port}", *args], cwd=ROOT
        )
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


def test(args: list[str]) -> int:
    install()
    return subprocess.call([BIN / "pytest", *args], cwd=ROOT)


def install_only(args: list[str]) -> int:
    install()
    return 0


COMMANDS = {"run": run, "test": test, "install": install_only}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
