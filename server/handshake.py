"""Handshake decisions and HTTP answers for the one-port service, as pure functions."""

from __future__ import annotations

import hmac
import http
import json
from typing import Any, Iterable, Optional
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Response

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _host_of(netloc: str) -> str:
    """``host`` of ``host[:port]`` (IPv6 in brackets kept bare), lowercased."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def origin_allowed(
    origin: Optional[str], host_header: Optional[str], allowed: Iterable[str] = ()
) -> bool:
    """May a WebSocket handshake with this ``Origin`` header proceed?

    Allowed: no Origin (non-browser clients), pages served from localhost/loopback on any
    port, pages served by this server itself (the Origin's host:port equals the request's
    ``Host``, e.g. ``/test`` opened via a LAN address), and the ``allowed`` origins. Refused:
    any other web site, and ``null`` (sandboxed or ``file://`` pages).
    """
    if origin is None:
        return True
    origin = origin.strip()
    if origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if _host_of(parts.netloc) in {h.strip("[]") for h in LOCAL_HOSTS}:
        return True
    return host_header is not None and parts.netloc.lower() == host_header.strip().lower()


def token_presented(query: str, headers: Headers) -> Optional[str]:
    """The token a client sent: ``?token=`` or ``Authorization: Bearer <token>``."""
    values = parse_qs(query).get("token")
    if values:
        return values[0]
    auth = headers.get("Authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def token_ok(expected: Optional[str], presented: Optional[str]) -> bool:
    if expected is None:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def is_websocket_upgrade(headers: Headers) -> bool:
    return "websocket" in headers.get("Upgrade", "").lower()


def response(status: int, body: bytes, content_type: str, extra: Iterable[tuple[str, str]] = ()) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            *extra,
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def json_response(status: int, obj: Any, extra: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")
    return response(status, body, "application/json; charset=utf-8", extra)


def error_response(status: int, message: str, extra: Iterable[tuple[str, str]] = ()) -> Response:
    """An HTTP refusal (handshake or page): JSON ``{"error": message, "code": status}``."""
    return json_response(status, {"error": message, "code": status}, extra)
