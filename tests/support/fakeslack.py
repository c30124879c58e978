"""A fake Slack for end-to-end tests: Web API over HTTP and Socket Mode over WebSocket.

It listens on 127.0.0.1 only, on a free port, in a background thread running its own asyncio
loop (aiohttp serves HTTP and WebSocket on the same port). Every request is recorded for
assertions; failures (429 with ``Retry-After``, ``{"ok": false}`` errors, failing file
uploads) can be injected; envelopes (slash commands, events, interactions) are pushed to the
most recent Socket Mode connection and the client's acks are recorded with their arrival time.

Usage::

    with FakeSlack() as fake:
        client = WebClient(base_url=fake.api_url, token="xoxb-test")
        ...
        fake.wait_for_call("chat.postMessage", timeout=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import math
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Parameters that slack_sdk sends as JSON strings in form bodies; decoded into ``Call.params``.
JSON_PARAMS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass(frozen=True)
class Call:
    """One HTTP request the fake received (``method`` is the API method, "upload", or
    "response_url"). ``params`` merges query, form and JSON body; ``headers`` keys are lower-case.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    time: float
    status: int
    response: Any
    path: str = ""
    body: bytes = b""


@dataclass
class Upload:
    """A file announced by ``files.getUploadURLExternal``; ``data`` is None until its bytes
    are posted, ``completed`` once ``files.completeUploadExternal`` shared it."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class Ack:
    """A Socket Mode acknowledgement; times are ``time.monotonic()``."""

    envelope_id: str
    sent_at: float
    acked_at: float
    payload: dict[str, Any] | None

    @property
    def latency(self) -> float:
        """Seconds between sending the envelope and receiving its ack."""
        return self.acked_at - self.sent_at


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str | None


class _ApiError(Exception):
    """Raised inside method handlers to answer ``{"ok": false, "error": ...}``."""


class FakeSlack:
    """Fake Slack server. Use as a context manager or call ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T1",
        app_id: str = "A1",
        team_domain: str = "heed-test",
    ) -> None:
        self.bot_user_id, self.bot_id, self.team_id = bot_user_id, bot_id, team_id
        self.app_id, self.team_domain = app_id, team_domain
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._ids = itertools.count(1)
        self._t0 = int(time.time())
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, list[str]] = {}
        self.set_user(bot_user_id, name="heed", is_bot=True)
        self.set_channel("C1", "general")
        self.set_channel("C2", "random")
        self._tickets: set[str] = set()
        self._conns: list[web.WebSocketResponse] = []
        self._retiring: set[web.WebSocketResponse] = set()
        self._refuse_until = 0.0
        self._tasks: set[asyncio.Future[Any]] = set()
        self._total_connections = 0
        self._started_at = time.monotonic()
        self.reset()

    # ----------------------------------------------------------------- lifecycle
    def start(self, timeout: float = 5.0) -> Self:
        """Start serving; returns self once the port is bound."""
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, errors), name="fakeslack", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout) or errors:
            raise RuntimeError(f"fake Slack did not start: {errors}")
        self._started_at = time.monotonic()
        log.info("fake Slack listening on %s", self.base_url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close WebSocket connections, stop the server and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._startup())
        except (OSError, RuntimeError) as e:  # reported to start()
            errors.append(e)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _startup(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # loopback only, a free port
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        for ws in list(self._conns):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001, message=b"server stopping"), 1.0)
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 3.0)

    @property
    def port(self) -> int:
        """The bound TCP port (0 before start)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for ``WebClient(base_url=...)`` (ends with '/')."""
        return f"{self.base_url}/api/"

    def env(self, bot_token: str = "xoxb-test", app_token: str = "xapp-test") -> dict[str, str]:
        """Environment variables pointing a bot process (``python -m bot``) at this fake."""
        return {
            "SLACK_API_URL": self.api_url,
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_APP_TOKEN": app_token,
        }

    # ----------------------------------------------------------------- configuration
    def set_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
    ) -> None:
        """Configure what ``users.info`` answers for ``user_id``."""
        name = name or user_id.lower()
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": name,
                "deleted": False,
                "is_admin": is_admin,
                "is_owner": is_owner,
                "is_primary_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "profile": {"real_name": name, "display_name": name},
            }

    def set_usergroup(self, usergroup_id: str, members: list[str]) -> None:
        """Configure what ``usergroups.users.list`` answers for ``usergroup_id``."""
        with self._lock:
            self._usergroups[usergroup_id] = list(members)

    def set_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, is_mpim: bool = False
    ) -> None:
        """Register a channel (``is_mpim``: a group DM, private) for ``conversations.info``
        and posting."""
        private = is_private or is_mpim
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_channel": not private,
                "is_group": is_private and not is_mpim,
                "is_im": False,
                "is_mpim": is_mpim,
                "is_private": private,
                "is_member": True,
                "is_archived": False,
            }

    def add_history(self, channel_id: str, texts: list[str], user_id: str = "U1") -> list[str]:
        """Put ``texts`` in ``channel_id``'s history (``conversations.history``), oldest
        first, a minute apart and ending now; returns their ``ts``."""
        now = int(time.time())
        with self._lock:
            stamps = [
                f"{now - 60 * (len(texts) - i)}.{next(self._ids):06d}" for i in range(len(texts))
            ]
            for ts, text in zip(stamps, texts, strict=True):
                self._messages[(channel_id, ts)] = {
                    "type": "message",
                    "user": user_id,
                    "text": text,
                    "ts": ts,
                    "team": self.team_id,
                }
        return stamps

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail: with ``error`` answer HTTP 200
        ``{"ok": false, "error": error}``; otherwise HTTP ``status`` (429 adds Retry-After)."""
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Failure(status, retry_after if status == 429 else None, error))

    def fail_uploads(self, times: int = 1, status: int = 500) -> None:
        """Make the next ``times`` POSTs of file bytes to the upload URL answer ``status``.
        slack_sdk posts them with bare ``urlopen``, so ``files_upload_v2`` then raises
        ``urllib.error.HTTPError`` (status >= 400) or ``SlackRequestError`` (other non-200)."""
        with self._lock:
            self._upload_failures.extend([status] * times)

    def reset(self) -> None:
        """Forget recorded calls, uploads, envelopes, acks, messages, reactions and pending
        failures. Users, channels and connections are kept."""
        with self._lock:
            self._calls: list[Call] = []
            self._uploads: dict[str, Upload] = {}
            self._acks: list[Ack] = []
            self._sent: dict[str, tuple[float, dict[str, Any]]] = {}
            self._failures: dict[str, deque[_Failure]] = {}
            self._upload_failures: deque[int] = deque()
            self._messages: dict[tuple[str, str], dict[str, Any]] = {}
            self._reactions: set[tuple[str, str, str]] = set()

    # ----------------------------------------------------------------- recorder
    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally only those of ``method``."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    @property
    def uploads(self) -> list[Upload]:
        """Files in the order they were announced (copies)."""
        with self._lock:
            return [dataclasses.replace(u) for u in self._uploads.values()]

    @property
    def acks(self) -> list[Ack]:
        """Acks received, oldest first."""
        with self._lock:
            return list(self._acks)

    @property
    def connection_count(self) -> int:
        """Open Socket Mode connections."""
        with self._lock:
            return sum(1 for ws in self._conns if not ws.closed)

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,
        interval: float = 0.01,
        what: str = "condition",
    ) -> T:
        """Poll ``predicate`` until it returns something truthy and return it; on timeout
        raise AssertionError with a dump of the recorded traffic."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                dump = self.dump()
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{dump}")
            time.sleep(interval)

    def wait_for_call(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 5.0
    ) -> Call:
        """Wait for the first call of ``method`` (matching ``predicate``) and return it."""

        def find() -> Call | None:
            return next((c for c in self.calls(method) if predicate is None or predicate(c)), None)

        return self.wait_for(find, timeout, what=f"a {method} call")  # type: ignore[return-value]

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """Wait for the ack of ``envelope_id`` and return it."""

        def find() -> Ack | None:
            return next((a for a in self.acks if a.envelope_id == envelope_id), None)

        return self.wait_for(find, timeout, what=f"ack of {envelope_id}")  # type: ignore[return-value]

    def wait_connected(self, timeout: float = 5.0, min_total: int = 1) -> None:
        """Wait until a Socket Mode client has received ``hello`` and at least ``min_total``
        connections were made since start."""
        self.wait_for(
            lambda: self.connection_count > 0 and self._total_connections >= min_total,
            timeout,
            what=f"a Socket Mode connection (total >= {min_total})",
        )

    def dump(self, last: int = 40) -> str:
        """A readable summary of recent calls, acks and connections."""
        with self._lock:
            lines = [
                f"connections open={self.connection_count} total={self._total_connections}",
                f"calls ({len(self._calls)}, last {last}):",
            ]
            for c in self._calls[-last:]:
                params = json.dumps(c.params, default=str)[:300]
                at = c.time - self._started_at
                lines.append(f"  +{at:.3f}s {c.method} -> {c.status} {params}")
            lines.append(f"acks ({len(self._acks)}):")
            lines += [f"  {a.envelope_id} after {a.latency:.3f}s" for a in self._acks[-last:]]
            pending = [e for e in self._sent if e not in {a.envelope_id for a in self._acks}]
            lines.append(f"unacked envelopes: {pending}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- Socket Mode
    def send_envelope(
        self, type_: str, payload: dict[str, Any], *, connection: int = -1, **extra: Any
    ) -> str:
        """Send a Socket Mode envelope of ``type_`` to one open connection (``connection``
        indexes them oldest first; the newest by default); returns its id."""
        envelope_id = str(uuid.uuid4())
        message = {"envelope_id": envelope_id, "type": type_, "payload": payload, **extra}
        with self._lock:
            self._sent[envelope_id] = (time.monotonic(), message)
        self.send_raw(message, connection=connection)
        return envelope_id

    def send_raw(
        self, message: dict[str, Any], timeout: float = 5.0, *, connection: int = -1
    ) -> None:
        """Send any JSON message (e.g. ``{"type": "disconnect"}``) to one open connection
        (``connection`` indexes them oldest first; the newest by default)."""
        with self._lock:
            open_conns = [ws for ws in self._conns if not ws.closed]
        if not open_conns or self._loop is None:
            raise AssertionError(f"no Socket Mode client is connected\n{self.dump()}")
        coro = open_conns[connection].send_str(json.dumps(message))
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does before recycling a connection; the
        slack_sdk client then calls apps.connections.open and connects again at once. The
        connections open now are closed as soon as a new one arrives (as Slack closes them):
        the builtin client reads only one connection at a time and would otherwise sit in
        recv() on the old one for up to 3 s."""
        with self._lock:
            self._retiring.update(ws for ws in self._conns if not ws.closed)
        self.send_raw({"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack"}})

    def refuse_connections(self, seconds: float) -> None:
        """Answer every WebSocket upgrade with 503 for ``seconds`` (Slack's side is away)."""
        self._refuse_until = time.monotonic() + seconds

    def close_connections(self, timeout: float = 5.0) -> None:
        """Close every Socket Mode connection from the server side (clients should reconnect)."""

        async def close_all() -> None:
            for ws in list(self._conns):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(code=1001, message=b"going away"), 1.0)

        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(timeout)

    def send_slash_command(
        self,
        command: str,
        text: str = "",
        user_id: str = "U1",
        channel_id: str = "C1",
        thread_ts: str | None = None,
        *,
        user_name: str | None = None,
        channel_name: str | None = None,
        connection: int = -1,
        **extra: Any,
    ) -> str:
        """Deliver a ``slash_commands`` envelope; its ``response_url`` posts back here."""
        rid = str(next(self._ids))
        with self._lock:
            if channel_id not in self._channels and not channel_id.startswith("D"):
                self.set_channel(channel_id, channel_name or channel_id.lower())
            known = self._channels.get(channel_id, {}).get("name", "directmessage")
        payload: dict[str, Any] = {
            "token": "verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or known,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": f"{self.base_url}/response/{rid}",
            "trigger_id": f"{rid}.{self.team_id}.trigger",
            **extra,
        }
        if thread_ts is not None:
            payload["thread_ts"] = thread_ts
        return self.send_envelope(
            "slash_commands", payload, connection=connection, accepts_response_payload=True
        )

    def send_event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str | None = None,
        connection: int = -1,
    ) -> str:
        """Deliver an ``events_api`` envelope (to connection ``connection``, see
        :meth:`send_envelope`); pass the same ``event_id`` with ``retry_attempt>=1`` to
        simulate Slack redelivering it."""
        event_id = event_id or f"Ev{next(self._ids):08d}"
        event = dict(event)
        now = time.time()
        event.setdefault("event_ts", f"{now:.6f}")
        if event.get("type") == "message" and event.get("channel") and event.get("ts"):
            with self._lock:  # so reactions.add / threads can refer to it
                self._messages.setdefault((event["channel"], event["ts"]), dict(event))
        payload = {
            "token": "verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(now),
            "is_ext_shared_channel": False,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        reason = retry_reason if retry_reason is not None else ("timeout" if retry_attempt else "")
        return self.send_envelope(
            "events_api",
            payload,
            connection=connection,
            accepts_response_payload=False,
            retry_attempt=retry_attempt,
            retry_reason=reason,
        )

    def envelope(self, envelope_id: str) -> dict[str, Any]:
        """The envelope sent as ``envelope_id`` (KeyError if unknown)."""
        with self._lock:
            return json.loads(json.dumps(self._sent[envelope_id][1]))

    def redeliver(
        self,
        envelope_id: str,
        retry_attempt: int = 1,
        retry_reason: str = "timeout",
        connection: int = -1,
    ) -> str:
        """Send the event of an earlier ``events_api`` envelope again, as Slack does when an
        ack is late: same ``event_id``, new envelope id, ``retry_attempt``/``retry_reason`` set
        (to any connection: Slack may redeliver to another replica)."""
        payload = self.envelope(envelope_id)["payload"]
        return self.send_event(
            payload["event"],
            event_id=payload["event_id"],
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            connection=connection,
        )

    def send_message_event(
        self,
        text: str,
        user_id: str = "U1",
        channel_id: str = "C1",
        ts: str | None = None,
        thread_ts: str | None = None,
        connection: int = -1,
        **extra: Any,
    ) -> tuple[str, str]:
        """Deliver a user's ``message`` event; returns ``(envelope_id, ts)``."""
        ts = ts or self._next_ts()
        channel_type = "im" if channel_id.startswith("D") else "channel"
        event = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": ts,
            "channel_type": channel_type,
            "team": self.team_id,
            **extra,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return self.send_event(event, connection=connection), ts

    def send_interactive(self, payload: dict[str, Any], *, connection: int = -1) -> str:
        """Deliver an ``interactive`` envelope (block_actions, view_submission, ...)."""
        payload = {
            "api_app_id": self.app_id,
            "token": "verification-token",
            "team": {"id": self.team_id, "domain": self.team_domain},
            **payload,
        }
        return self.send_envelope(
            "interactive", payload, connection=connection, accepts_response_payload=False
        )

    def send_view_submission(
        self, view: dict[str, Any], values: dict[str, Any], user_id: str = "U1"
    ) -> str:
        """Submit the modal ``view`` (as ``views.open`` received it) with ``values``: block
        id -> action id -> ``{"type": ..., "value": ...}``."""
        submitted = {**view, "state": {"values": values}}
        user = {"id": user_id, "username": user_id.lower(), "team_id": self.team_id}
        return self.send_interactive(
            {
                "type": "view_submission",
                "trigger_id": "1.2.trigger",
                "user": user,
                "view": submitted,
            }
        )

    def send_block_action(
        self,
        action_id: str,
        value: str = "",
        user_id: str = "U1",
        channel_id: str = "C1",
        message_ts: str | None = None,
        block_id: str = "block",
        message: dict[str, Any] | None = None,
        selected_option: dict[str, Any] | None = None,
        user_team: str | None = None,
        connection: int = -1,
    ) -> str:
        """Deliver a button click (``block_actions``) on the message ``message_ts``; with
        ``selected_option`` (an option object), a ``static_select`` choice instead;
        ``user_team`` makes the user one of another workspace (Slack Connect). A message this
        fake does not hold was ephemeral: as Slack does, the click then carries no message."""
        rid = str(next(self._ids))
        ts = message_ts or self._next_ts()
        with self._lock:
            msg = message or self._messages.get((channel_id, ts))
            channel_name = self._channels.get(channel_id, {}).get("name")
        return self.send_interactive(
            {
                "type": "block_actions",
                "trigger_id": f"{rid}.{self.team_id}.trigger",
                "user": {
                    "id": user_id,
                    "username": user_id.lower(),
                    "name": user_id.lower(),
                    "team_id": user_team or self.team_id,
                },
                "container": {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel_id,
                    "is_ephemeral": msg is None,
                },
                "channel": {"id": channel_id, "name": channel_name},
                **({"message": msg} if msg is not None else {}),
                "response_url": f"{self.base_url}/response/{rid}",
                "actions": [
                    {
                        "action_id": action_id,
                        "block_id": block_id,
                        "action_ts": f"{time.time():.6f}",
                        **(
                            {"type": "button", "value": value}
                            if selected_option is None
                            else {"type": "static_select", "selected_option": selected_option}
                        ),
                    }
                ],
            },
            connection=connection,
        )

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        if time.monotonic() < self._refuse_until:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse(autoping=True, compress=False, timeout=2.0)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": self.connection_count + 1,
                    "debug_info": {
                        "host": "fakeslack",
                        "build_number": 1,
                        "approximate_connection_time": 3600,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        with self._lock:
            self._conns.append(ws)
            self._total_connections += 1
            retiring, self._retiring = self._retiring, set()
        for old in retiring:
            task = asyncio.ensure_future(old.close(code=1001, message=b"refreshed"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_client_message(msg.data)
        finally:
            with self._lock:
                self._conns.remove(ws)
        return ws

    def _on_client_message(self, text: str) -> None:
        now = time.monotonic()
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("fake Slack got a non-JSON frame: %r", text[:200])
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not envelope_id:
            log.warning("fake Slack got a frame without envelope_id: %r", text[:200])
            return
        with self._lock:
            sent_at = self._sent.get(envelope_id, (math.nan, {}))[0]
            self._acks.append(Ack(envelope_id, sent_at, now, message.get("payload")))

    # ----------------------------------------------------------------- HTTP
    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], bytes]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        if request.content_type == "application/json" and body:
            with contextlib.suppress(ValueError):  # bad JSON: the method sees no arguments
                data = json.loads(body)
                params.update(data if isinstance(data, dict) else {})
        elif body:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in JSON_PARAMS:
            value = params.get(key)
            if isinstance(value, str) and value[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, body

    def _record(
        self,
        method: str,
        request: web.Request,
        params: dict[str, Any],
        token: str | None,
        status: int,
        response: Any,
        body: bytes,
        at: float,
    ) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = Call(method, params, headers, token, at, status, response, request.path, body)
        with self._lock:
            self._calls.append(call)
        log.debug("fake Slack %s -> %s %s", method, status, response)

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params, body = await self._read_params(request)
        token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        headers: dict[str, str] = {}
        with self._lock:
            failures = self._failures.get(method)
            failure = failures.popleft() if failures else None
            if failure is not None and failure.error is None:
                status = failure.status
                error = "ratelimited" if status == 429 else "fatal_error"
                response: dict[str, Any] = {"ok": False, "error": error}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
            elif failure is not None:
                status, response = 200, {"ok": False, "error": failure.error}
            else:
                status, response = 200, self._dispatch(method, params, token)
            self._record(method, request, params, token, status, response, body, at)
        return web.json_response(response, status=status, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        file_id = request.match_info["file_id"]
        data = await request.read()
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                status, text = 404, "file not found"
            elif self._upload_failures:
                status, text = self._upload_failures.popleft(), "injected upload failure"
            else:
                upload.data = data
                status, text = 200, f"OK - {len(data)}"
            self._record(
                "upload",
                request,
                {"file_id": file_id, "size": len(data)},
                None,
                status,
                text,
                data,
                at,
            )
        return web.Response(status=status, text=text)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        params, body = await self._read_params(request)
        self._record("response_url", request, params, None, 200, "ok", body, at)
        return web.Response(text="ok")

    # ----------------------------------------------------------------- Web API methods
    def _next_ts(self) -> str:
        return f"{self._t0}.{next(self._ids):06d}"

    def _dispatch(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        wanted = "xapp-" if method == "apps.connections.open" else "xoxb-"
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith(wanted):
            known = token.startswith(("xoxb-", "xapp-", "xoxp-"))
            return {"ok": False, "error": "not_allowed_token_type" if known else "invalid_auth"}
        try:
            return {"ok": True, **handler(params)}
        except _ApiError as e:
            return {"ok": False, "error": str(e)}

    @staticmethod
    def _need(params: dict[str, Any], *names: str) -> list[Any]:
        missing = [n for n in names if not params.get(n)]
        if missing:
            raise _ApiError("invalid_arguments" if len(missing) > 1 else f"missing_{missing[0]}")
        return [params[n] for n in names]

    def _channel(self, channel: str | None) -> str:
        """Resolve a channel (a user id means their DM) or raise channel_not_found."""
        if channel and channel[:1] in ("U", "W"):
            return self._open_dm(channel)
        if not channel or channel not in self._channels:
            raise _ApiError("channel_not_found")
        return channel

    def _open_dm(self, user_id: str) -> str:
        dm = f"D{user_id}"
        self._channels.setdefault(
            dm,
            {
                "id": dm,
                "is_im": True,
                "is_channel": False,
                "is_private": True,
                "user": user_id,
                "is_open": True,
            },
        )
        return dm

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain,
            "user": "heed",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = str(next(self._ids))
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self._port}/socket?ticket={ticket}"}

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise _ApiError("no_text")
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "ts": ts,
            "text": params.get("text", ""),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key):
                message[key] = params[key]
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        self._need(params, "user")
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise _ApiError("no_text")
        return {"message_ts": self._next_ts(), "channel": channel}

    def _own_message(self, params: dict[str, Any], verb: str) -> tuple[str, str, dict]:
        """The bot's own message that ``params`` name, as chat.update and chat.delete find it."""
        channel = self._channel(params.get("channel"))
        (ts,) = self._need(params, "ts")
        message = self._messages.get((channel, ts))
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise _ApiError(f"cant_{verb}_message")
        return channel, ts, message

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts, message = self._own_message(params, "update")
        for key in ("text", "blocks", "attachments"):
            if key in params:
                message[key] = params[key]
        return {
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": dict(message),
        }

    def _m_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts, _ = self._own_message(params, "delete")
        del self._messages[(channel, ts)]
        return {"channel": channel, "ts": ts}

    def _m_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        (ts,) = self._need(params, "message_ts")
        if (channel, ts) not in self._messages:
            raise _ApiError("message_not_found")
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages newest first, ``limit`` a page (at most 999), after ``oldest``;
        the cursor is the offset of the next page."""
        channel = self._channel(params.get("channel"))
        limit = max(1, min(int(params.get("limit") or 100), 999))
        cursor = str(params.get("cursor") or "offset:0")
        if not cursor.startswith("offset:") or not cursor[7:].isdigit():
            raise _ApiError("invalid_cursor")
        start, oldest = int(cursor[7:]), float(params.get("oldest") or 0)
        messages = sorted(
            (
                m
                for (c, ts), m in self._messages.items()
                if c == channel and float(ts) > oldest and m.get("thread_ts", ts) == ts
            ),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        more = start + limit < len(messages)
        return {
            "messages": [dict(m) for m in messages[start : start + limit]],
            "has_more": more,
            "response_metadata": {"next_cursor": f"offset:{start + limit}" if more else ""},
        }

    def _m_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        ts, name = self._need(params, "timestamp", "name")
        if (channel, ts) not in self._messages:
            raise _ApiError("message_not_found")
        if (channel, ts, name) in self._reactions:
            raise _ApiError("already_reacted")
        self._reactions.add((channel, ts, name))
        return {}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        (user_id,) = self._need(params, "user")
        if user_id not in self._users:
            if user_id[:1] not in ("U", "W"):
                raise _ApiError("user_not_found")
            self.set_user(user_id)  # unknown U… ids are ordinary members
        return {"user": dict(self._users[user_id])}

    def _m_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        (group,) = self._need(params, "usergroup")
        if group not in self._usergroups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _m_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id, view = self._need(params, "user_id", "view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        return {"view": {**view, "id": f"V{next(self._ids):06d}", "user_id": user_id}}

    def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        _, view = self._need(params, "trigger_id", "view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise _ApiError("invalid_arguments")
        return {"view": {**view, "id": f"V{next(self._ids):06d}"}}

    def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        (channel,) = self._need(params, "channel")
        if channel not in self._channels:
            raise _ApiError("channel_not_found")
        return {"channel": dict(self._channels[channel])}

    def _m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if params.get("channel"):
            return {"channel": {"id": self._channel(params["channel"])}}
        if len(users) != 1:
            raise _ApiError("users_list_not_supplied" if not users else "not_supported")
        return {"channel": {"id": self._open_dm(users[0])}}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = self._need(params, "filename", "length")
        file_id = f"F{next(self._ids):06d}"
        self._uploads[file_id] = Upload(file_id, filename, int(length))
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        (files,) = self._need(params, "files")
        channel = params.get("channel_id") or (params.get("channels") or "").split(",")[0]
        channel = self._channel(channel) if channel else None
        uploads = [self._uploads.get(f.get("id", "")) for f in files]
        if not uploads or any(u is None or u.data is None for u in uploads):
            raise _ApiError("file_not_found")
        out = []
        for upload, spec in zip(uploads, files, strict=True):
            assert upload is not None and upload.data is not None
            upload.title = spec.get("title") or upload.filename
            upload.channel, upload.thread_ts = channel, params.get("thread_ts")
            upload.initial_comment, upload.completed = params.get("initial_comment"), True
            out.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": upload.title,
                    "size": len(upload.data),
                    "channels": [channel] if channel else [],
                    "permalink": f"{self.base_url}/files/{upload.file_id}",
                }
            )
        return {"files": out}


__all__ = ["JSON_PARAMS", "Ack", "Call", "FakeSlack", "Upload"]
