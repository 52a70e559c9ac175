"""Handshake decisions: which origins may connect, token extraction."""

from __future__ import annotations

import pytest
from websockets.datastructures import Headers

from tingxie.server.handshake import origin_allowed, token_ok, token_presented


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "127.0.0.1:9999", True),
        ("http://localhost", "127.0.0.1:9999", True),
        ("http://localhost:3000", "127.0.0.1:9999", True),
        ("https://127.0.0.1:8443", "127.0.0.1:9999", True),
        ("http://[::1]:9999", "[::1]:9999", True),
        # The /test page opened via the LAN address of a --host 0.0.0.0 server:
        ("http://192.168.1.20:9999", "192.168.1.20:9999", True),
        ("http://192.168.1.20:8000", "192.168.1.20:9999", False),
        ("https://evil.example", "127.0.0.1:9999", False),
        ("http://localhost.evil.example", "127.0.0.1:9999", False),
        ("http://127.0.0.1.evil.example", "127.0.0.1:9999", False),
        ("null", "127.0.0.1:9999", False),
        ("file://", "127.0.0.1:9999", False),
        ("chrome-extension://abc", "127.0.0.1:9999", False),
    ],
)
def test_origin_allowed(origin: str | None, host: str, allowed: bool) -> None:
    assert origin_allowed(origin, host) is allowed


def test_configured_origins_are_allowed() -> None:
    assert origin_allowed("https://app.example.com", "127.0.0.1:9999", ["https://app.example.com/"])
    assert not origin_allowed("https://other.example.com", "127.0.0.1:9999", ["https://app.example.com"])


def test_token_from_query_or_bearer_header() -> None:
    assert token_presented("token=abc&x=1", Headers()) == "abc"
    assert token_presented("", Headers([("Authorization", "Bearer xyz")])) == "xyz"
    assert token_presented("", Headers([("Authorization", "Basic xyz")])) is None
    assert token_ok(None, None)
    assert token_ok("abc", "abc")
    assert not token_ok("abc", None)
    assert not token_ok("abc", "abd")
