"""Start-up once :mod:`bot.preflight` passed (``HEED_DEVICE`` checked, the models loaded, a
default trained if asked; each failure a :class:`StartupError`), wiring, serving and shutdown."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from slack_bolt import App

from bot.app import build_app
from bot.database import Database
from bot.digest import QueueDigest
from bot.drift import DriftWatch
from bot.handlers.autotag_worker import start_autotag_worker
from bot.ops.metrics import (
    OPS_PATHS,
    PUBLIC_OPS_PATHS,
    Readiness,
    database_check,
    model_check,
    ops_app,
)
from bot.preflight import StartupError, slack_errors
from bot.retention import TombstoneSweep, exports_dir, retention_for
from bot.retrain.jobs import RetrainError, describe_progress
from bot.retrain.reaper import start_reaper
from bot.retrain.reporter import Throttle
from bot.retrain.runner import RetrainRunner
from bot.services import Services
from bot.serving.holder import ModelHolder, TaskModels
from bot.settings import Settings
from bot.tasks import Task
from bot.transports.guard import EVENTS_PATH, SlackGuard
from bot.transports.http import HttpServer, ServerLimits
from bot.transports.replay import ReplayGuard
from classifier.device import configure_threads, pick_device
from classifier.store import ModelNotFoundError, ModelStore
from classifier.tokenizers import SharedTokenizers

log = logging.getLogger("bot")

SHUTDOWN_GRACE = 10.0
REPLICA = f"{socket.gethostname()}:{os.getpid()}"
"""This process in job rows (which replica runs a job)."""


def serve(settings: Settings, db: Database, *, host: str, port: int) -> None:
    """Start Heed on the database :func:`bot.preflight.preflight` opened (training the default
    model first if its store is empty), serve until SIGTERM/SIGINT, shut down; raises
    :class:`StartupError`."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        services, app = _start(settings, db, stop)
    except StartupError:
        db.close()
        raise
    if stop.is_set():
        services.close()
        return
    services.models.start_watching()
    sweeps = [
        retention_for(settings, db, ModelStore(t.model_dir), t.name).run for t in settings.tasks
    ]
    reaper = start_reaper(
        db,
        services,
        app.client,
        lambda: [sweep() for sweep in sweeps],
        every_round=TombstoneSweep(db, exports_dir(settings)),
    )
    digest = QueueDigest(services, app.client, owner=REPLICA)
    digest.start()
    drift = DriftWatch(services, app.client, owner=REPLICA)
    drift.start()
    autotag = start_autotag_worker(services, app.client, REPLICA)
    routes = [f"{ch} ({task.name})" for task in settings.tasks for ch in task.channels]
    admins = sorted(settings.admins)
    if settings.admins_from_workspace:
        admins.append("workspace admins/owners")
    log.info(
        "replica %s serving %s; auto-tagging %s; replies %s; database %s; admins %s; "
        "queue digest %s",
        REPLICA,
        _serving(services),
        ", ".join(routes) or "off",
        "private" if settings.private_replies else "in channel",
        db.where,
        ", ".join(admins) or "none (set HEED_ADMINS)",
        settings.queue_digest,
    )
    default = services.models.holder(settings.tasks.default_name)
    readiness = Readiness(
        {"model": model_check(lambda: default.version), "database": database_check(db)}
    )
    readiness.add("autotag_queue", autotag.check)
    try:
        if settings.socket_mode:
            _serve_socket_mode(app, services, readiness, stop)
        else:
            _serve_http(app, services, readiness, host, port, stop)
    except OSError as exc:  # a port that cannot be bound
        raise StartupError(f"cannot serve: {exc}", 1) from exc
    finally:
        drift.stop()
        autotag.stop()
        digest.stop()
        reaper.stop()
        services.models.stop()
        _drain(services)
    log.info("stopped")


def _start(settings: Settings, db: Database, stop: threading.Event) -> tuple[Services, App]:
    default = settings.tasks.default
    store = ModelStore(default.model_dir)
    try:
        pick_device(settings.device)
    except ValueError as exc:
        raise StartupError(f"HEED_DEVICE: {exc}") from exc
    configure_threads(settings.torch_threads)
    runners = {task.name: _runner(settings, db, task) for task in settings.tasks}
    tokenizers = SharedTokenizers()
    holder = ModelHolder(store, device=settings.device, tokenizers=tokenizers)
    models = TaskModels(
        settings.tasks,
        holder,
        device=settings.device,
        tokenizers=tokenizers,
        max_loaded=settings.loaded_tasks,
        idle_s=settings.task_idle_minutes * 60.0,
    )
    services = Services(settings, db, models, runners)
    with slack_errors(settings):
        app = build_app(services)  # auth.test again (preflight's passed moments ago)
    if store.current() is None:
        _train_default(runners[default.name], stop)
        if stop.is_set():
            return services, app
    try:
        holder.load()
    except (ModelNotFoundError, ValueError, OSError) as exc:
        raise StartupError(str(exc)) from exc
    except Exception as exc:
        log.exception("cannot load the model")
        raise StartupError(f"cannot load the model: {exc}", 1) from exc
    return services, app


def _runner(settings: Settings, db: Database, task: Task) -> RetrainRunner:
    return RetrainRunner(
        task.model_dir,
        task.train_data,
        db,
        eval_files=task.eval_data,
        timeout_s=settings.retrain_timeout,
        extra_args=settings.retrain_args,
        launcher=settings.train_launcher,
        base=settings.base_model,
        exports_dir=exports_dir(settings),
        owner=REPLICA,
        lease_s=settings.job_lease,
        task=task.name,
    )


def _serving(services: Services) -> str:
    loaded = services.models.loaded()
    tasks = services.settings.tasks
    if len(tasks) == 1:
        return f"model {loaded[tasks.default_name].version}"
    return ", ".join(
        f"task {name} model {loaded[name].version}"
        if name in loaded
        else f"task {name} (loaded on first use)"
        for name in services.settings.tasks.names
    )


def _train_default(runner: RetrainRunner, stop: threading.Event) -> None:
    """Train the bundled sample through the retrain runner; raise when it does not succeed."""
    throttle = Throttle(5.0)
    start: dict = {}

    def on_progress(event: dict) -> None:
        if event.get("event") == "start":
            start.update(event)
        if throttle.ready(force=event.get("event") in ("start", "epoch")):
            log.info("training the default model: %s", describe_progress(event, start))

    log.info("no model is serving: training the default on the bundled sample (a minute or two)")
    try:
        job = runner.start("--train-default", on_progress, bundled_sample=True)
    except RetrainError as exc:
        raise StartupError(f"cannot train the default model: {exc}") from exc
    while not job.done:
        if stop.wait(0.5):
            log.info("stopping: the default model was not trained")
            runner.close()
            return
    result = job.result
    if result is None or not result.succeeded:
        reason = result.reason if result is not None else "unknown"
        raise StartupError(f"training the default model failed (job {job.id}): {reason}")
    log.info("trained the default model: %s", result.summary())


@contextmanager
def _ops_server(services: Services, readiness: Readiness) -> Iterator[HttpServer | None]:
    """The ops endpoints on ``HEED_OPS_PORT`` (if set) while the block runs (no body is read)."""
    settings = services.settings
    if not settings.ops_port:  # unset or 0
        yield None
        return
    limits = ServerLimits(threads=2, connections=64, timeout=10.0, max_body=1024)
    app = ops_app(services.metrics, readiness)
    server = HttpServer(app, settings.ops_host, settings.ops_port, limits, name="ops").start()
    try:
        yield server
    finally:
        server.stop()


def _serve_socket_mode(
    app: App, services: Services, readiness: Readiness, stop: threading.Event
) -> None:
    from bot.transports.socket_mode import AckFirstSocketModeHandler

    token = services.settings.app_token or ""
    handler = AckFirstSocketModeHandler(app, token, services.metrics, concurrency=16)
    readiness.add("slack", handler.connected)
    try:
        with _ops_server(services, readiness):
            handler.connect()
            log.info("Heed is up in Socket Mode")
            stop.wait()
    finally:
        handler.client.auto_reconnect_enabled = False
        closer = threading.Thread(target=handler.close, daemon=True)
        closer.start()
        closer.join(3.0)


def _serve_http(
    app: App,
    services: Services,
    readiness: Readiness,
    host: str,
    port: int,
    stop: threading.Event,
) -> None:
    """Serve Slack's requests, each signature once, and ``/healthz`` (every ops endpoint with
    ``HEED_OPS_PUBLIC``; ``HEED_OPS_PORT`` serves them all apart)."""
    settings = services.settings
    readiness.add("slack", lambda: (True, ""))  # Slack calls us; auth.test passed at start-up
    with _ops_server(services, readiness):
        guard = SlackGuard(
            app,
            settings.signing_secret or "",
            services.metrics,
            max_body=settings.max_body,
            ops=ops_app(services.metrics, readiness),
            ops_paths=OPS_PATHS if settings.ops_public else PUBLIC_OPS_PATHS,
            replays=ReplayGuard(services.db.signatures.claim),
        )
        limits = ServerLimits(
            settings.http_threads,
            settings.http_connections,
            settings.http_timeout,
            settings.max_body,
        )
        server = HttpServer(
            guard, host, port, limits, name="http", refused=guard.refused_by_server
        ).start()
        log.info("Heed is up in HTTP mode on port %d%s", server.port, EVENTS_PATH)
        stop.wait()
        server.stop()


def _drain(services: Services) -> None:
    """Let running jobs finish (bounded), then stop the pools."""
    closer = threading.Thread(target=services.close, daemon=True)
    closer.start()
    closer.join(SHUTDOWN_GRACE)
    if closer.is_alive():
        log.warning("jobs still running after %.0fs; exiting anyway", SHUTDOWN_GRACE)
        logging.shutdown()
        os._exit(0)
