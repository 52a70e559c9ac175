"""The global hold key on X11: a ``HoldKeySource`` that sees the key (or mouse button)
whichever application has the focus, Tingxie minimised or not.

It listens through the RECORD extension (as pynput does on X11): every key and button event
the server processes is copied to a connection of ours, and nothing is taken away from the
application the user works in — a grab would break Right Ctrl+C there. One thread reads
that connection; a second connection controls it (enabling and disabling a record context
must not share the blocked one).

- Chords (``ctrl+alt+d``): the key counts only with those modifiers down, whichever side.
- Stuck keys: while the key is held, the server's key map is checked every
  ``STUCK_CHECK_S``; a key that is no longer down (its release was lost to a screen locker,
  suspend, a VT switch) is released then.
- CapsLock taps through: a press counts as a hold only once it has lasted ``TAP_S`` (a
  tap changes caps and starts nothing, in toggle mode too); the server toggles caps on
  every press, so after a hold the source taps CapsLock once more through XTEST, leaving
  caps as it was. Its own synthetic events are recognised and ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .hotkey import STUCK_CHECK_S, TAP_S, KeySpec
from .push_to_talk import Clock, HoldKeyListener

log = logging.getLogger(__name__)

KEY_REPEAT_WINDOW_S = 0.030

MODIFIER_KEYSYMS = {
    "ctrl": ("Control_L", "Control_R"),
    "alt": ("Alt_L", "Alt_R", "Meta_L", "Meta_R"),
    "shift": ("Shift_L", "Shift_R"),
    "super": ("Super_L", "Super_R"),
}


class X11KeyError(RuntimeError):
    """The key cannot be watched on this display (no RECORD, no such key); for the user."""


class X11HoldKey:
    """A ``HoldKeySource`` for ``spec`` on the X display ``display`` (None: ``$DISPLAY``).
    Opening the display and checking the key happen in ``__init__`` (raises
    ``X11KeyError``); listening starts with ``start``."""

    def __init__(
        self,
        spec: KeySpec,
        display: str | None = None,
        *,
        clock: Clock = time.monotonic,
        debounce_s: float = KEY_REPEAT_WINDOW_S,
    ) -> None:
        from Xlib import XK
        from Xlib import display as xdisplay
        from Xlib import error as xerror

        self.spec = spec
        self.name = str(spec)
        self.debounce_s = debounce_s
        self._clock = clock
        try:
            self._ctl = xdisplay.Display(display)
        except (xerror.DisplayError, OSError) as exc:
            raise X11KeyError(f"cannot open the X display: {exc}") from exc
        self._display_name = display
        if not self._ctl.has_extension("RECORD"):
            self._ctl.close()
            raise X11KeyError("the X server has no RECORD extension: no global hold key")
        self._code = 0
        if spec.keysym is not None:
            sym = XK.string_to_keysym(spec.keysym)
            self._code = int(self._ctl.keysym_to_keycode(sym)) if sym else 0
            if not self._code:
                self._ctl.close()
                raise X11KeyError(f"this keyboard has no {spec.key!r} key")
        self._modifier_codes = {
            mod: {int(self._ctl.keysym_to_keycode(XK.string_to_keysym(n)))
                  for n in MODIFIER_KEYSYMS[mod]} - {0}
            for mod in spec.modifiers
        }
        self._lock = threading.Lock()
        self._xlock = threading.Lock()  # the control connection, used by three threads
        self._listener: HoldKeyListener | None = None
        self._down: set[int] = set()  # keycodes held now, as recorded
        self._held_since: float | None = None
        self._ignore = 0  # our own synthetic CapsLock events still to come
        self._context: int | None = None
        self._thread: threading.Thread | None = None
        self._watch: threading.Thread | None = None
        self._stop = threading.Event()

    # --- HoldKeySource -------------------------------------------------------------------
    def start(self, listener: HoldKeyListener) -> None:
        from Xlib import X
        from Xlib.ext import record

        with self._lock:
            self._listener = listener
            if self._thread is not None:
                return
        self._stop.clear()
        with self._xlock:
            self._context = self._ctl.record_create_context(
                0,
                [record.AllClients],
                [{
                    "core_requests": (0, 0), "core_replies": (0, 0),
                    "ext_requests": (0, 0, 0, 0), "ext_replies": (0, 0, 0, 0),
                    "delivered_events": (0, 0),
                    "device_events": (X.KeyPress, X.ButtonRelease),
                    "errors": (0, 0), "client_started": False, "client_died": False,
                }],
            )
            self._ctl.sync()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._record, args=(ready,),
                                        name="tingxie-x11-keys", daemon=True)
        self._thread.start()
        ready.wait(5.0)
        self._watch = threading.Thread(target=self._check_stuck, name="tingxie-x11-stuck",
                                       daemon=True)
        self._watch.start()

    def stop(self) -> None:
        with self._lock:
            self._listener = None
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and self._context is not None:
            try:
                with self._xlock:
                    self._ctl.record_disable_context(self._context)
                    self._ctl.flush()
            except Exception:  # noqa: BLE001 - the server is gone: the thread ends anyway
                log.info("disabling the key recording failed", exc_info=True)
            thread.join(5.0)
            try:
                with self._xlock:
                    self._ctl.record_free_context(self._context)
                    self._ctl.flush()
            except Exception:  # noqa: BLE001
                pass
            self._context = None
        if self._watch is not None:
            self._watch.join(2.0)
            self._watch = None
        with self._lock:
            self._down.clear()
            self._held_since = None

    def close(self) -> None:
        self.stop()
        try:
            self._ctl.close()
        except Exception:  # noqa: BLE001
            pass

    # --- the recording thread ------------------------------------------------------------
    def _record(self, ready: threading.Event) -> None:
        from Xlib import display as xdisplay

        try:
            data = xdisplay.Display(self._display_name)
        except Exception:  # noqa: BLE001 - reported as no key
            log.exception("the key recording connection failed")
            ready.set()
            return
        ready.set()
        try:
            assert self._context is not None
            data.record_enable_context(self._context, self._recorded)  # blocks until disabled
        except Exception:  # noqa: BLE001
            if not self._stop.is_set():
                log.exception("the key recording stopped")
                self._lost()
        finally:
            data.close()

    def _recorded(self, reply: Any) -> None:
        from Xlib import X
        from Xlib.ext import record
        from Xlib.protocol import rq

        if reply.category != record.FromServer or reply.client_swapped or not reply.data:
            return
        data = reply.data
        while data:
            ev, data = rq.EventField(None).parse_binary_value(data, self._ctl.display, None, None)
            kind = ev.type
            if kind in (X.KeyPress, X.KeyRelease):
                self._key(ev.detail, kind == X.KeyPress)
            elif kind in (X.ButtonPress, X.ButtonRelease) and ev.detail == self.spec.button:
                self._edge(kind == X.ButtonPress)

    def _key(self, code: int, press: bool) -> None:
        with self._lock:
            if press:
                self._down.add(code)
            else:
                self._down.discard(code)
            if code != self._code or self.spec.button is not None:
                return
            if self.spec.taps_through and self._ignore:
                self._ignore -= 1  # our own re-toggle
                return
            if press and not all(self._down & codes for codes in self._modifier_codes.values()):
                return
        self._edge(press)

    def _edge(self, press: bool) -> None:
        now = self._clock()
        with self._lock:
            listener = self._listener
            held_for = None if self._held_since is None else now - self._held_since
            if press:
                if self._held_since is None:
                    self._held_since = now
            elif self._held_since is None:
                return  # the release of a press that did not count (a chord's key alone)
            else:
                self._held_since = None
        if listener is None:
            return
        if self.spec.taps_through:
            self._tap_edge(listener, press, now, held_for)
            return
        if press:
            listener.key_down(self, now)
            return
        listener.key_up(self, now)

    def _tap_edge(self, listener: HoldKeyListener, press: bool, now: float,
                  held_for: float | None) -> None:
        """CapsLock: a hold counts only once it has lasted ``TAP_S`` (reported then, with
        the press's time: the pre-roll has the audio), so a tap changes caps and nothing
        else, in toggle mode too."""
        if press:
            if held_for is None:  # the first press, not a repeat
                since = now
                timer = threading.Timer(TAP_S, self._tap_elapsed, args=(since,))
                timer.daemon = True
                timer.start()
            return
        if held_for is not None and held_for >= TAP_S:
            listener.key_up(self, now)
            self._retoggle()

    def _tap_elapsed(self, since: float) -> None:
        with self._lock:
            listener = self._listener
            still = self._held_since == since
        if listener is not None and still:
            listener.key_down(self, since)

    def _retoggle(self) -> None:
        """Undo the CapsLock toggle a hold caused: tap it again through XTEST."""
        from Xlib import X
        from Xlib.ext import xtest

        with self._lock:
            self._ignore += 2
        try:
            with self._xlock:
                xtest.fake_input(self._ctl, X.KeyPress, self._code)
                xtest.fake_input(self._ctl, X.KeyRelease, self._code)
                self._ctl.sync()
        except Exception:  # noqa: BLE001 - caps stays toggled: annoying, not harmful
            log.warning("could not restore CapsLock after a hold", exc_info=True)

    # --- stuck keys ----------------------------------------------------------------------
    def _check_stuck(self) -> None:
        while not self._stop.wait(STUCK_CHECK_S):
            with self._lock:
                held = self._held_since is not None
            if not held:
                continue
            if self.spec.button is not None:
                pressed = self._button_down()
            else:
                with self._xlock:
                    keymap = self._ctl.query_keymap()
                pressed = bool(keymap[self._code // 8] & (1 << (self._code % 8)))
            if not pressed:
                with self._lock:
                    still = self._held_since is not None
                if still:
                    log.info("%s is no longer down but its release never came: released",
                             self.name)
                    self._lost()

    def _button_down(self) -> bool:
        assert self.spec.button is not None
        if self.spec.button > 5:
            return True  # the pointer state has bits for buttons 1-5 only: trust the events
        with self._xlock:
            mask = self._ctl.screen().root.query_pointer().mask
        return bool(mask & (1 << (7 + self.spec.button)))

    def _lost(self) -> None:
        with self._lock:
            listener = self._listener
            self._held_since = None
            self._down.discard(self._code)
        if listener is not None:
            listener.key_lost(self)
