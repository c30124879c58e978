"""Only the installing workspace: a Bolt middleware (both transports) that refuses a request
whose team or Enterprise Grid organisation is not the one ``auth.test`` named. A signed request
can still come from elsewhere: another workspace the app is installed in, a Slack Connect user
clicking in a shared channel. A message event in a shared channel is delivered for this
workspace, so auto-tagging there goes on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse

from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

OTHER_WORKSPACE = "other_workspace"  # the refusal's reason in heed_http_rejected_total


def from_installing_workspace(context: BoltContext) -> bool:
    """Is the request for the workspace (and organisation) Heed was installed in? True when no
    authorization applies (``url_verification``, ``ssl_check``: nothing is acted on)."""
    home = context.authorize_result
    if home is None:
        return True
    if not home.team_id or context.team_id != home.team_id:
        return False
    return context.enterprise_id in (None, home.enterprise_id)


def workspace_middleware(metrics: Metrics) -> Callable[..., BoltResponse | None]:
    """The middleware: the next step for a request of the installing workspace, else an
    empty 200 (nothing done, nothing said; a non-200 would make Slack retry an event)."""

    def only_installing_workspace(
        context: BoltContext, next: Callable[[], None]
    ) -> BoltResponse | None:
        if from_installing_workspace(context):
            next()
            return None
        metrics.rejected.labels(OTHER_WORKSPACE).inc()
        log.info(
            "refused a request from team %s (organisation %s): not the installing workspace",
            context.team_id,
            context.enterprise_id,
        )
        return BoltResponse(status=200, body="")

    return only_installing_workspace
