"""Hold-key names as Settings takes them."""

from __future__ import annotations

import pytest

from tingxie.desktop.hotkey import DEFAULT_HOLD_KEY, KeySpec, KeySpecError, parse


def test_the_default_is_right_ctrl_alone() -> None:
    spec = parse(DEFAULT_HOLD_KEY)
    assert spec == KeySpec(key="right ctrl") and spec.keysym == "Control_R"
    assert str(spec) == "right ctrl" and not spec.taps_through


@pytest.mark.parametrize(
    ("name", "spec", "keysym"),
    [
        ("Ctrl + Alt + D", KeySpec(frozenset({"ctrl", "alt"}), key="d"), "d"),
        ("super+space", KeySpec(frozenset({"super"}), key="space"), "space"),
        ("F8", KeySpec(key="f8"), "F8"),
        ("caps  lock", KeySpec(key="caps lock"), "Caps_Lock"),
        ("mouse back", KeySpec(button=8), None),
        ("ctrl+mouse 9", KeySpec(frozenset({"ctrl"}), button=9), None),
    ],
)
def test_names_parse_to_keys_chords_and_buttons(name: str, spec: KeySpec, keysym: str) -> None:
    assert parse(name) == spec
    assert parse(name).keysym == keysym
    assert parse(str(spec)) == spec  # the canonical name round-trips


def test_caps_lock_taps_through_only_alone() -> None:
    assert parse("caps lock").taps_through
    assert not parse("ctrl+caps lock").taps_through


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "not a key"),
        ("ctrl", "ambiguous"),
        ("a", "stop you typing"),
        ("hyper+a", "not a modifier"),
        ("ctrl+ctrl+a", "twice"),
        ("ctrl+right alt", "alone"),
        ("mouse 1", "side button"),
        ("mouse 4", "side button"),
        ("banana", "not a key Tingxie knows"),
    ],
)
def test_unusable_names_say_why(name: str, why: str) -> None:
    with pytest.raises(KeySpecError, match=why):
        parse(name)
