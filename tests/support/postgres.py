"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.

``initdb`` refuses to run as root, so when this process is root the server binaries run as the
``postgres`` user (``runuser``) in a data directory it owns. The cluster listens on a free
loopback port only, trusts local connections, and is stopped and deleted on exit (also when
the block raised).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

USER = "heed"


def bindir() -> Path | None:
    """The PostgreSQL server binaries' folder (``pg_config --bindir``, else the newest
    ``/usr/lib/postgresql/N/bin``), or None when they are not installed."""
    candidates = []
    try:
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        candidates.append(Path(out))
    except (OSError, subprocess.CalledProcessError):
        pass
    installed = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(
        installed, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True
    )
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def missing_reason() -> str | None:
    """Why a cluster cannot be started here (one line), or None when it can."""
    if bindir() is None:
        return "PostgreSQL server binaries not found (pg_config --bindir has no initdb)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as another user"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def throwaway_cluster(parent: Path | None = None) -> Iterator[str]:
    """Start a cluster, create database ``heed``; yield its SQLAlchemy URL; stop and delete."""
    binaries = bindir()
    if binaries is None:
        raise RuntimeError(missing_reason() or "PostgreSQL is not installed")
    root = Path(tempfile.mkdtemp(prefix="heed-pg-", dir=parent))
    data, sockets = root / "data", root / "sockets"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    started = False
    try:
        subprocess.run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8"]
            ),
            **run,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "start",
                ]
            ),
            **run,
        )
        started = True
        subprocess.run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "heed"],
            **run,
        )
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/heed"
    finally:
        if started:
            subprocess.run(
                _as_server_user(
                    [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                ),
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the cluster of ``url``; the new database's URL."""
    _admin(url, f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    """Drop the database of ``url``, closing whatever still connects to it."""
    _admin(url, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database on the cluster of ``url`` (its URL), dropped afterwards."""
    created = create_database(url, f"heed_{uuid.uuid4().hex[:12]}")
    try:
        yield created
    finally:
        drop_database(created)


def _admin(url: str, statement: str) -> None:
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(statement)
