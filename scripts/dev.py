#!/usr/bin/env python3
"""Set up and run Plugway on this machine with nothing but python3.

    python3 scripts/dev.py run     # install, migrate, start the app and what it needs, print URLs
    python3 scripts/dev.py test    # install, run the test suite (extra args go to pytest)
    python3 scripts/dev.py bench   # locator benchmark (see bench/run.py), not part of the tests

The virtual environment in .venv is (re)installed from requirements-dev.lock whenever the lock
file changes, and the browser libraries from package-lock.json likewise, so a second run starts
at once. `run` also starts localstripe (a fake Stripe), a sandbox OCPI CPO (it registers with
it through the real handshake and pulls its stations) and Celery beat with a worker, so the jobs
production schedules (command timeouts, the look for missing CDRs, token reconciliation) run.
"""

import base64
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
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
NPM_LOCK = ROOT / "package-lock.json"
VENDOR = ROOT / "static" / "vendor"
VENDOR_MARK = VENDOR / ".installed-lock-sha256"
# Browser files we serve from each npm package (paths inside its tarball's package/ folder;
# they land in static/vendor/<package>/ without a leading dist/).
VENDORED = {
    "leaflet": ("dist/leaflet.js", "dist/leaflet.css", "dist/images/"),
    "uplot": ("dist/uPlot.iife.min.js", "dist/uPlot.min.css"),
    # The map's offline basemap: Natural Earth's country outlines as TopoJSON, and its reader.
    "world-atlas": ("countries-50m.json",),
    "topojson-client": ("dist/topojson-client.min.js",),
}
LOCALE = ROOT / "locale"
NPM_REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
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


def vendor_static() -> None:
    """Fetch the browser packages pinned in package-lock.json from the npm registry, check each
    against the lock's integrity hash, and unpack their browser files into static/vendor/.
    Needs no Node.js; skipped when this lock is already unpacked."""
    wanted = hashlib.sha256(NPM_LOCK.read_bytes()).hexdigest()
    if VENDOR_MARK.exists() and VENDOR_MARK.read_text() == wanted:
        return
    say(f"fetching locked browser packages ({', '.join(VENDORED)}) from the npm registry")
    packages = json.loads(NPM_LOCK.read_text())["packages"]
    for name, paths in VENDORED.items():
        locked = packages[f"node_modules/{name}"]
        url = f"{NPM_REGISTRY}/{name}/-/{name}-{locked['version']}.tgz"
        with urllib.request.urlopen(url, timeout=60) as reply:  # noqa: S310 (https registry)
            tarball = reply.read()
        algorithm, _, expected = locked["integrity"].partition("-")
        if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != expected:
            sys.exit(f"{url} does not match the integrity hash in package-lock.json")
        target = VENDOR / name
        shutil.rmtree(target, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
            for member in archive.getmembers():
                inside = member.name.removeprefix("package/")
                if member.isfile() and any(inside == p or inside.startswith(p) for p in paths if p):
                    destination = target / inside.removeprefix("dist/")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
    VENDOR_MARK.write_text(wanted)


def translations_compile() -> None:
    """Compile each translation catalogue (locale/<language>/LC_MESSAGES/*.po) that changed
    into the .mo file Django reads, with Babel's pybabel (installed in .venv), which also
    refuses a translation whose placeholders differ from its message's. The .mo files are
    build output, not committed: a .po is the one source, and a stale .mo cannot ship."""
    stale = [
        po
        for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if not stale:
        return
    say("compiling translations: " + ", ".join(f"{po.parts[-3]}/{po.name}" for po in stale))
    for po in stale:
        mo, language = po.with_suffix(".mo"), po.parts[-3]
        compiled = subprocess.run(
            [BIN / "pybabel", "-q", "compile", "-l", language, "-i", po, "-o", mo], check=False
        )
        if compiled.returncode:
            sys.exit(f"{po.relative_to(ROOT)} does not compile (see above): fix it and run again.")


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ports_check(wanted: dict[str, int]) -> None:
    """Stop before starting anything when a port we need is taken (another Plugway, say):
    otherwise the sandbox or localstripe of that other run would quietly be used."""
    busy = [f"{port} ({setting})" for setting, port in wanted.items() if not port_free(port)]
    if busy:
        sys.exit(
            f"In use already, perhaps by another `dev.py run`: port {', '.join(busy)}. "
            "Stop that, or choose free ports, e.g. PORT=8001 SANDBOX_CPO_PORT=9101 "
            "STRIPE_API_BASE=http://127.0.0.1:8421 python3 scripts/dev.py run"
        )


def localstripe_port() -> int | None:
    """localstripe's port when STRIPE_API_BASE is a loopback one (its default), else None."""
    base = os.environ.get("STRIPE_API_BASE", "http://127.0.0.1:8420")
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/?", base)
    return int(match[1]) if match else None


def manage(*args: str) -> None:
    subprocess.run([BIN / "python", "manage.py", *args], check=True, cwd=ROOT)


def localstripe_start(app_port: str) -> "subprocess.Popen[bytes] | None":
    """Start localstripe (a fake Stripe) when STRIPE_API_BASE is its loopback default."""
    port = localstripe_port()
    if port is None:
        return None
    say(
        f"starting localstripe, a fake Stripe, at http://127.0.0.1:{port} "
        "(test card: 4242 4242 4242 4242, any future expiry, any CVC)"
    )
    webhook = f"http://127.0.0.1:{app_port}/payments/stripe/webhook/"
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
    command = [BIN / "python", "scripts/localstripe_server.py", "--port", str(port)]
    command += ["--webhook-url", webhook, "--webhook-secret", secret]
    return subprocess.Popen(command, cwd=ROOT)


def sandbox_start() -> "subprocess.Popen[bytes] | None":
    """Start the sandbox OCPI CPO beside the app (see `sandbox_cpo --help`), unless real
    partners are configured already."""
    check = [BIN / "python", "manage.py", "sandbox_connect", "--check"]
    if subprocess.run(check, cwd=ROOT, check=False).returncode:
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
            "--status-refresh",
            "3600",
            "--quiet",
        ],
        cwd=ROOT,
    )


def scheduler_command(schedule: Path) -> list[str]:
    """Celery beat inside a worker, with production's schedule (CELERY_BEAT_SCHEDULE). On the
    embedded default (no REDIS_URL: tasks run eagerly, no broker between processes) beat runs
    each job itself when it is due and the worker has nothing to take; with Redis the worker
    takes them. `schedule`: the file where beat remembers when each job last ran."""
    schedule.parent.mkdir(exist_ok=True)
    return [
        str(BIN / "celery"),
        "--app",
        "config",
        "worker",
        "--beat",
        "--schedule",
        str(schedule),
        "--concurrency",
        "1",
        "--loglevel",
        "WARNING",
    ]


def sandbox_connect(app_url: str) -> None:
    """Once the app answers, register with the sandbox and pull its stations (in the
    background, so the server's output is not held up)."""
    port = os.environ.get("SANDBOX_CPO_PORT", "9100")
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{app_url}/healthz", timeout=1)  # noqa: S310 (our loopback)
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
    vendor_static()
    translations_compile()
    host, port = "127.0.0.1", os.environ.get("PORT", "8000")
    ports = {"PORT": int(port), "SANDBOX_CPO_PORT": int(os.environ.get("SANDBOX_CPO_PORT", "9100"))}
    stripe_port = localstripe_port()
    if stripe_port is not None:
        ports["STRIPE_API_BASE"] = stripe_port
    ports_check(ports)
    say("migrating the database")
    manage("migrate", "--no-input")
    # Partners (the sandbox) call us back at the URL we hand out: settings derive it from PORT.
    os.environ["PORT"] = port
    sandbox = sandbox_start()
    say("starting Celery beat and a worker: scheduled jobs run as in production")
    scheduler = subprocess.Popen(scheduler_command(ROOT / "var" / "celerybeat-schedule"), cwd=ROOT)
    children = [child for child in (sandbox, localstripe_start(port), scheduler) if child]
    if sandbox:
        threading.Thread(
            target=sandbox_connect, args=(f"http://{host}:{port}",), daemon=True
        ).start()
    say(f"Plugway is starting at http://{host}:{port}/  (admin: http://{host}:{port}/admin/)")
    say("sign-up emails (the verification link) are printed here, in this console")
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
    vendor_static()
    translations_compile()
    return subprocess.call([BIN / "pytest", *args], cwd=ROOT)


def bench(args: list[str]) -> int:
    """The locator benchmark (bench/run.py); point DATABASE_URL at a PostgreSQL database."""
    install()
    return subprocess.call([BIN / "python", "bench/run.py", *args], cwd=ROOT)


def install_only(args: list[str]) -> int:
    install()
    vendor_static()
    translations_compile()
    return 0


COMMANDS = {"run": run, "test": test, "bench": bench, "install": install_only}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
