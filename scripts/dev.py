#!/usr/bin/env python3
"""Set up and run Plugway on this machine with nothing but python3.

    python3 scripts/dev.py run     # install, migrate, start the app, print its URL
    python3 scripts/dev.py test    # install, run the test suite (extra args go to pytest)
    python3 scripts/dev.py bench   # locator benchmark (see bench/run.py), not part of the tests

The virtual environment in .venv is (re)installed from requirements-dev.lock whenever the lock
file changes, so a second run starts at once.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
LOCK = ROOT / "requirements-dev.lock"
INSTALLED_MARK = VENV / ".installed-lock-sha256"


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


NPM_LOCK = ROOT / "package-lock.json"
NPM_MARK = ROOT / "node_modules" / ".installed-lock-sha256"
# Browser libraries served from static/vendor (not committed): what to copy out of node_modules.
VENDORED = {"leaflet": ("dist/leaflet.js", "dist/leaflet.css", "dist/images")}


def vendor_static() -> None:
    """Install the npm packages pinned in package-lock.json and copy their browser files to
    static/vendor/, unless this lock is already installed."""
    wanted = hashlib.sha256(NPM_LOCK.read_bytes()).hexdigest()
    vendor = ROOT / "static" / "vendor"
    if NPM_MARK.exists() and NPM_MARK.read_text() == wanted and vendor.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed once to install the map library (Leaflet): apt-get install npm")
    say("installing locked browser packages (npm ci)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], check=True, cwd=ROOT)
    for package, paths in VENDORED.items():
        target = vendor / package
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for relative in paths:
            source = ROOT / "node_modules" / package / relative
            if source.is_dir():
                shutil.copytree(source, target / source.name)
            else:
                shutil.copy2(source, target / source.name)
    NPM_MARK.write_text(wanted)


def manage(*args: str) -> None:
    subprocess.run([BIN / "python", "manage.py", *args], check=True, cwd=ROOT)


def run(args: list[str]) -> int:
    install()
    vendor_static()
    say("migrating the database")
    manage("migrate", "--no-input")
    manage("catalogue_demo", "--if-empty")
    host, port = "127.0.0.1", os.environ.get("PORT", "8000")
    say(f"Plugway is starting at http://{host}:{port}/  (admin: http://{host}:{port}/admin/)")
    say("create an admin login with: .venv/bin/python manage.py createsuperuser")
    try:
        return subprocess.call(
            [BIN / "python", "manage.py", "runserver", f"{host}:{port}", *args], cwd=ROOT
        )
    except KeyboardInterrupt:
        return 0


def test(args: list[str]) -> int:
    install()
    vendor_static()
    return subprocess.call([BIN / "pytest", *args], cwd=ROOT)


def bench(args: list[str]) -> int:
    """The locator benchmark (bench/run.py); point DATABASE_URL at a PostgreSQL database."""
    install()
    return subprocess.call([BIN / "python", "bench/run.py", *args], cwd=ROOT)


COMMANDS = {"run": run, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
