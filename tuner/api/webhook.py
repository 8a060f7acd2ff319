"""One JSON POST to a webhook (Slack-compatible or any receiver), for the daemon's notifier.

Webhook URLs are secrets themselves (a Slack incoming-webhook URL is its own credential), so the
URL never appears in an error message, a repr or a log line here: errors name the host only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from tuner import __version__
from tuner.api.transport import _shared_ssl_context
from tuner.config import is_loopback_host


class _HideWebhookUrls(logging.Filter):
    """httpx logs every request's URL at INFO; for a webhook that would log the secret. This
    filter on httpx's logger shows webhook URLs as their host only."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            record.args = tuple(
                webhook_host(str(arg)) if str(arg) in self.urls else arg for arg in record.args
            )
        return True


_HIDE_URLS = _HideWebhookUrls()
logging.getLogger("httpx").addFilter(_HIDE_URLS)


class WebhookError(Exception):
    """The POST got no HTTP answer (refused, reset, timed out); the message holds no URL."""


def check_webhook_url(url: str) -> str:
    """The URL, stripped; https anywhere, plain http only to a loopback host.

    Raises ValueError naming the problem (never the path or query, which may be the secret).
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("the webhook URL must be an http(s):// URL with a host")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(
            f"the webhook URL must use https:// for {parts.hostname} "
            "(plain http:// only to a loopback host)"
        )
    return text


def webhook_host(url: str) -> str:
    """How a webhook is shown to people: scheme and host, never the (secret) path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


async def post_json(url: str, payload: Mapping[str, Any], timeout: float) -> int:
    """POST ``payload`` as JSON to ``url``; the HTTP status of the answer.

    ``timeout`` bounds the whole exchange (connect, send, wait, read), not each phase, so a
    receiver that trickles bytes cannot hold a notifier longer than that. Redirects are not
    followed: a webhook that redirects is misconfigured, and following it would resend the
    payload somewhere the user did not name.
    """
    _HIDE_URLS.urls.add(str(httpx.URL(url)))
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                timeout=timeout,
                verify=_shared_ssl_context(),
                follow_redirects=False,
                headers={"User-Agent": f"tuner/{__version__}"},
            ) as http,
        ):
            response = await http.post(url, json=dict(payload))
            return response.status_code
    except TimeoutError:
        raise WebhookError(f"{webhook_host(url)} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        # httpx messages can quote the URL: keep only the kind of failure.
        raise WebhookError(f"{webhook_host(url)}: {type(exc).__name__}") from None
