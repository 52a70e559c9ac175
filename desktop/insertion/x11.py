"""Text into other X11 applications: typed through XTEST as Unicode keysyms, or pasted
through the CLIPBOARD selection with the user's clipboard given back afterwards.

One connection to the X server, owned by one thread (``tingxie-x11``): python-xlib's
``Display`` is not safe to share, and a clipboard owner must answer the requests of other
applications at any time, not only while ``insert`` runs. ``insert`` is posted to that
thread and waits for its answer. ``focused`` (asked at every key press) uses a second
connection under a lock instead, so a press never waits behind a paste that is waiting for
its target to read the clipboard.

Typing. A Unicode character has a keysym (``0x1000000 + code point``, Latin-1 keysyms for
Latin-1), but no key on the keyboard produces it, so — like ``xdotool type`` — keycodes
that the keyboard map leaves empty are bound to the text's keysyms, and XTEST presses and
releases them. Clients reread the keyboard map when they process the ``MappingNotify`` that
a rebinding causes, and they reread the *current* map, so a keycode may be rebound only
once the target has surely read the key events of its previous binding: the spare keycodes
are split in two halves used in turn, and before a half is bound again the target is
pinged (EWMH ``_NET_WM_PING``: a client answers it in order, after the key events sent
before it); a client without ping support gets a pause instead. Newline and tab are the
keyboard's own Return and Tab.

Pasting. The clipboard's current contents are read first, every target its owner offers
(``TARGETS``), large ones through the INCR protocol. Tingxie then owns CLIPBOARD, offering
the text (``UTF8_STRING``, ``STRING``, ``TEXT``, ``text/plain;charset=utf-8``) and the
``x-kde-passwordManagerHint`` that tells clipboard managers not to keep it, sends the paste
chord, and waits until the target has actually asked for the text — its own client's
request, not a clipboard manager's, and never a fixed sleep, which a busy target loses
(Handy #502) — then a short quiet time, then serves the saved
contents again as the owner (or gives the selection up if it was empty). If anyone else
took the clipboard meanwhile (the user copied something), nothing is restored.

Before either: held modifiers are released (a still-held Ctrl would turn typed text into
shortcuts), and the target must still be the focused top-level window.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .base import Chord, FocusMoved, How, Inserted, InsertError, Method, Target, Unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")

Content = dict[int, tuple[int, int, bytes]]
"""A selection's contents: target atom → (type atom, format 8/16/32, data)."""

TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT", "text/plain")
SKIPPED_TARGETS = ("TARGETS", "MULTIPLE", "TIMESTAMP", "SAVE_TARGETS", "DELETE",
                   "INSERT_PROPERTY", "INSERT_SELECTION")
"""Targets that are requests about the selection, not data to save."""
MODIFIER_KEYSYMS = ("Shift_L", "Shift_R", "Control_L", "Control_R", "Alt_L", "Alt_R",
                    "Meta_L", "Meta_R", "Super_L", "Super_R", "ISO_Level3_Shift",
                    "Hyper_L", "Hyper_R")


@dataclass(frozen=True)
class X11Timing:
    """How long the inserter waits for others. Defaults suit a desktop; tests shorten them."""

    read_timeout_s: float = 8.0
    """A paste the target has not read in this time failed (the clipboard is restored)."""
    quiet_s: float = 0.2
    """After the target's last request: more may follow (targets, then the text)."""
    save_timeout_s: float = 1.0
    """How long the clipboard's owner may take to answer each request while saving."""
    rebind_pause_s: float = 0.05
    """Before spare keycodes are bound to new keysyms again, for a target that does not
    answer pings (see the module docstring)."""
    ping_timeout_s: float = 2.0
    """A target that answers pings but not this one is busy: typing goes on after this."""


@dataclass
class _Transfer:
    """One INCR transfer we serve: the rest of ``data`` goes to ``window``'s ``prop`` a chunk
    each time the requestor deletes the property."""

    window: Any
    prop: int
    type_: int
    fmt: int
    data: bytes
    done: bool = False


@dataclass
class _Paste:
    """Requests served for the text while a paste waits for its target."""

    client: int | None = None  # the target's X client (resource id base); None: anyone
    served: int = 0
    last: float = 0.0
    lost: bool = False  # somebody else took the clipboard


@dataclass
class _Incoming:
    """A selection conversion we asked for (saving the clipboard)."""

    prop: int
    done: bool = False
    type_: int = 0
    fmt: int = 8
    data: bytearray = field(default_factory=bytearray)
    incr: bool = False
    failed: bool = False


def keysym_for(char: str) -> int:
    """The keysym of one character: Latin-1 keysyms are the code point, the rest Unicode
    keysyms (``0x1000000 + code point``), as Xlib's ``XStringToKeysym("Uxxxx")`` gives."""
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x1000000 + code


class X11Inserter:
    """A ``TextInserter`` on an X server (``display``: a name like ":0"; None: ``$DISPLAY``).
    Raises ``Unreachable`` if the display cannot be opened or lacks XTEST."""

    name = "x11"

    def __init__(self, display: str | None = None, *, timing: X11Timing = X11Timing()) -> None:
        try:
            from Xlib import display as xdisplay
            from Xlib import error as xerror
        except ImportError as exc:  # pragma: no cover - python-xlib is a Linux dependency
            raise Unreachable(f"python-xlib is not installed: {exc}") from exc
        try:
            self._d = xdisplay.Display(display)
        except (xerror.DisplayError, OSError) as exc:
            raise Unreachable(f"cannot open the X display {display or os.environ.get('DISPLAY')!r}: "
                              f"{exc}") from exc
        if not self._d.has_extension("XTEST"):
            self._d.close()
            raise Unreachable("the X server has no XTEST extension: Tingxie cannot type")
        self.timing = timing
        self._query = xdisplay.Display(display)
        self._query_lock = threading.Lock()
        self._root = self._d.screen().root
        self._win = self._root.create_window(0, 0, 1, 1, 0, 0, event_mask=1 << 22)  # PropertyChangeMask
        self._atoms: dict[str, int] = {}
        self._clipboard = self._atom("CLIPBOARD")
        self._content: Content | None = None  # what we serve while we own CLIPBOARD
        self._owned_at = 0
        self._transfers: list[_Transfer] = []
        self._incoming: _Incoming | None = None
        self._paste: _Paste | None = None
        self._spare = self._spare_keycodes()
        self._half = 0
        self._bound: dict[int, int] = {}  # spare keycode → keysym bound now
        self._last_bind = 0.0
        self._unsettled = False  # keys sent since the target last answered a ping
        self._pongs: set[int] = set()
        # Ping replies go to the root with StructureNotify (Qt) or SubstructureNotify (GTK).
        self._root.change_attributes(event_mask=(1 << 17) | (1 << 19))
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._post_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tingxie-x11", daemon=True)
        self._thread.start()

    # --- TextInserter ------------------------------------------------------------------
    def focused(self) -> Target | None:
        """Asked on a second connection, on the caller's thread: a key press must never
        wait behind a paste that waits for its target."""
        with self._query_lock:
            return self._focused(self._query)

    def insert(self, text: str, target: Target | None, how: How) -> Inserted:
        return self._call(lambda: self._insert(text, target, how))

    def close(self) -> None:
        """Stop serving the clipboard (saved contents we still serve are given up with the
        connection, as when any X application exits) and restore the spare keycodes."""
        with self._post_lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
            os.write(self._wake_w, b"x")
        self._thread.join(5.0)
        with self._query_lock:
            self._query.close()

    # --- the X thread --------------------------------------------------------------------
    def _call(self, job: Callable[[], T]) -> T:
        future: Future[T] = Future()
        with self._post_lock:  # with the thread's ending: no job is left unanswered
            if self._closed:
                raise InsertError("the X11 inserter is closed")
            self._jobs.put((job, future))
            os.write(self._wake_w, b"x")
        return future.result()

    def _run(self) -> None:
        try:
            while True:
                self._pump(0.5)
                while True:
                    try:
                        item = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._unbind_all()
                        return
                    job, future = item
                    try:
                        future.set_result(job())
                    except BaseException as exc:  # noqa: BLE001 - the caller gets it
                        future.set_exception(exc)
        except Exception:  # noqa: BLE001 - the connection broke: fail what waits
            log.exception("the X11 inserter's connection failed")
        finally:
            with self._post_lock:
                self._closed = True
                while True:
                    try:
                        item = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[1].set_exception(InsertError("the X11 connection is gone"))
                os.close(self._wake_r)
                os.close(self._wake_w)
            try:
                self._d.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _pump(self, timeout: float) -> None:
        """Handle events for up to ``timeout`` seconds (returns early when a job is posted)."""
        self._d.flush()
        if not self._d.pending_events():
            ready, _, _ = select.select([self._d.fileno(), self._wake_r], [], [], timeout)
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)
        while self._d.pending_events():
            self._handle(self._d.next_event())

    def _wait(self, until: Callable[[], bool], timeout: float) -> bool:
        """Handle events until ``until()`` or ``timeout``; jobs wait (we are inside one)."""
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._d.flush()
            if not self._d.pending_events():
                select.select([self._d.fileno()], [], [], min(left, 0.05))
            while self._d.pending_events():
                self._handle(self._d.next_event())
        return True

    # --- events --------------------------------------------------------------------------
    def _handle(self, ev: Any) -> None:
        from Xlib import X

        kind = ev.type
        if kind == X.SelectionRequest:
            self._serve(ev)
        elif kind == X.SelectionClear:
            if ev.atom == self._clipboard:
                self._content = None
                if self._paste is not None:
                    self._paste.lost = True
        elif kind == X.ClientMessage:
            fmt, data = ev.data
            if (fmt == 32 and ev.client_type == self._atom("WM_PROTOCOLS")
                    and data[0] == self._atom("_NET_WM_PING")):
                self._pongs.add(int(data[1]))
        elif kind == X.SelectionNotify:
            inc = self._incoming
            if inc is not None and not inc.done:
                self._received(inc, ev)
        elif kind == X.PropertyNotify:
            if ev.state == X.PropertyDelete:
                self._continue_transfer(ev)
            elif ev.window == self._win and self._incoming is not None:
                inc = self._incoming
                if inc.incr and not inc.done and ev.atom == inc.prop:
                    self._received_chunk(inc)

    def _serve(self, ev: Any) -> None:
        """Answer another application's request for our clipboard (ICCCM 2.2)."""
        from Xlib import X, Xatom
        from Xlib.protocol import event

        prop = ev.property or ev.target  # obsolete clients send None: use the target
        content = self._content if ev.selection == self._clipboard else None
        answered = X.NONE
        if content is not None:
            try:
                if ev.target == self._atom("TARGETS"):
                    atoms = [self._atom("TARGETS"), self._atom("TIMESTAMP"), *content]
                    ev.requestor.change_property(prop, Xatom.ATOM, 32, atoms)
                    answered = prop
                elif ev.target == self._atom("TIMESTAMP"):
                    ev.requestor.change_property(prop, Xatom.INTEGER, 32, [self._owned_at])
                    answered = prop
                elif ev.target in content:
                    type_, fmt, data = content[ev.target]
                    self._send(ev.requestor, prop, type_, fmt, data)
                    answered = prop
                    paste = self._paste
                    if (paste is not None and self._atom_name(ev.target) in TEXT_TARGETS
                            and (paste.client is None
                                 or self._client_of(ev.requestor.id) == paste.client)):
                        # Only the target's own request counts as the paste: clipboard
                        # managers ask for every new owner's text at once (Handy #502).
                        paste.served += 1
                        paste.last = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - a requestor that vanished
                log.info("clipboard request from 0x%x failed: %s", ev.requestor.id, exc)
                answered = X.NONE
        reply = event.SelectionNotify(
            time=ev.time, requestor=ev.requestor, selection=ev.selection, target=ev.target,
            property=answered,
        )
        try:
            ev.requestor.send_event(reply)
        except Exception as exc:  # noqa: BLE001 - the requestor is gone
            log.info("clipboard reply to 0x%x failed: %s", ev.requestor.id, exc)

    def _chunk_limit(self) -> int:
        # The largest ChangeProperty request, less its header (python-xlib sends no BIG-REQUESTS).
        return max(4096, self._d.display.info.max_request_length * 4 - 64)

    def _send(self, window: Any, prop: int, type_: int, fmt: int, data: bytes) -> None:
        from Xlib import X

        if len(data) <= self._chunk_limit():
            window.change_property(prop, type_, fmt, _items(data, fmt))
            return
        # INCR: announce the size, then a chunk each time the requestor deletes the property.
        window.change_attributes(event_mask=X.PropertyChangeMask)
        window.change_property(prop, self._atom("INCR"), 32, [len(data)])
        self._transfers.append(_Transfer(window, prop, type_, fmt, data))

    def _continue_transfer(self, ev: Any) -> None:
        for t in list(self._transfers):
            if t.window.id == ev.window.id and t.prop == ev.atom:
                chunk, t.data = t.data[: self._chunk_limit()], t.data[self._chunk_limit():]
                t.window.change_property(t.prop, t.type_, t.fmt, _items(chunk, t.fmt))
                if not chunk:  # the zero-length chunk ends the transfer
                    self._transfers.remove(t)

    # --- reading the clipboard (to save it) ----------------------------------------------
    def _convert(self, target: int, timestamp: int) -> _Incoming:
        inc = _Incoming(self._atom("TINGXIE_SAVE"))
        self._incoming = inc
        self._win.delete_property(inc.prop)
        self._win.convert_selection(self._clipboard, target, inc.prop, timestamp)
        if not self._wait(lambda: inc.done, self.timing.save_timeout_s):
            inc.failed = True
        self._incoming = None
        return inc

    def _received(self, inc: _Incoming, ev: Any) -> None:
        from Xlib import X

        if ev.property == X.NONE:
            inc.failed = inc.done = True
            return
        reply = self._win.get_full_property(inc.prop, X.AnyPropertyType)
        if reply is None:
            inc.failed = inc.done = True
            return
        if reply.property_type == self._atom("INCR"):
            inc.incr = True
            self._win.delete_property(inc.prop)  # asks the owner for the first chunk
            return
        inc.type_, inc.fmt, inc.data = reply.property_type, reply.format, bytearray(
            _bytes(reply.value, reply.format))
        self._win.delete_property(inc.prop)
        inc.done = True

    def _received_chunk(self, inc: _Incoming) -> None:
        from Xlib import X

        reply = self._win.get_full_property(inc.prop, X.AnyPropertyType)
        if reply is None:
            return
        chunk = _bytes(reply.value, reply.format)
        self._win.delete_property(inc.prop)
        if not chunk:
            inc.done = True
            return
        inc.type_, inc.fmt = reply.property_type, reply.format
        inc.data += chunk

    def _save_clipboard(self, timestamp: int) -> Content | None:
        """The clipboard's contents now (None: nobody owns it)."""
        from Xlib import X, Xatom

        if self._content is not None:
            return dict(self._content)  # ours already (what we restored last time)
        owner = self._d.get_selection_owner(self._clipboard)
        if owner == X.NONE or owner is None:
            return None
        targets = self._convert(self._atom("TARGETS"), timestamp)
        if targets.failed or targets.type_ != Xatom.ATOM:
            # An owner that cannot list its targets: keep at least its text.
            atoms = [self._atom("UTF8_STRING"), Xatom.STRING]
        else:
            atoms = list(_items(bytes(targets.data), 32))
        skipped = {self._atom(n) for n in SKIPPED_TARGETS}
        saved: Content = {}
        for atom in atoms:
            if atom in skipped or atom in saved:
                continue
            got = self._convert(atom, timestamp)
            if got.failed:
                log.info("clipboard target %s could not be read; not restored",
                         self._atom_name(atom))
                continue
            saved[atom] = (got.type_, got.fmt, bytes(got.data))
        return saved

    # --- focus ---------------------------------------------------------------------------
    def _focused(self, d: Any = None) -> Target | None:
        """The focused top-level window, asked on ``d`` (default: the X thread's own
        connection; ``focused`` uses the second one, from the caller's thread)."""
        from Xlib import xobject

        d = self._d if d is None else d
        active = self._active_window(d)
        if active is None:
            focus = d.get_input_focus().focus
            if not isinstance(focus, xobject.drawable.Window):  # None or PointerRoot
                return None
            active = self._toplevel(d, focus)
            if active is None:
                return None
        app, title, pid = self._describe(d, active)
        return Target(active.id, app, title, pid)

    def _active_window(self, d: Any) -> Any | None:
        """The window manager's idea of the active window (EWMH), None without one."""
        from Xlib import X

        prop = d.screen().root.get_full_property(self._atom("_NET_ACTIVE_WINDOW", d),
                                                  X.AnyPropertyType)
        if prop is None or not len(prop.value) or not prop.value[0]:
            return None
        return d.create_resource_object("window", int(prop.value[0]))

    def _toplevel(self, d: Any, window: Any) -> Any | None:
        """The child of the root that holds ``window`` (its frame, under a window manager)."""
        root = d.screen().root.id
        current = window
        for _ in range(64):
            tree = current.query_tree()
            if tree.parent == 0 or tree.parent.id == root:
                return current
            current = tree.parent
        return None

    def _describe(self, d: Any, window: Any) -> tuple[str, str, int]:
        """(WM_CLASS class lower-cased, title, _NET_WM_PID or 0) of ``window`` or, under a
        reparenting window manager, of the client window inside its frame."""
        from Xlib import X

        pending = [window]
        for _ in range(32):
            if not pending:
                break
            w = pending.pop(0)
            try:
                cls = w.get_wm_class()
            except Exception:  # noqa: BLE001 - a window destroyed meanwhile
                cls = None
            if cls:
                name = w.get_full_property(self._atom("_NET_WM_NAME", d), X.AnyPropertyType)
                title = (_bytes(name.value, 8).decode("utf-8", "replace") if name
                         else (w.get_wm_name() or ""))
                pid = w.get_full_property(self._atom("_NET_WM_PID", d), X.AnyPropertyType)
                return cls[1].lower(), str(title), int(pid.value[0]) if pid else 0
            try:
                pending.extend(w.query_tree().children)
            except Exception:  # noqa: BLE001
                pass
        return "", "", 0

    # --- inserting -----------------------------------------------------------------------
    def _insert(self, text: str, target: Target | None, how: How) -> Inserted:
        if target is not None:
            now = self._focused()
            if now is None or now.id != target.id:
                raise FocusMoved(target, now)
        self._release_modifiers()
        if how.method is Method.PASTE:
            self._paste_text(text, how.chord, target)
        else:
            focused = self._focused() if target is None else target
            self._type(text, self._ping_window(focused))
        self._d.sync()
        return Inserted(how, target)

    def _release_modifiers(self) -> None:
        from Xlib import X
        from Xlib.ext import xtest

        keymap = self._d.query_keymap()
        for name in MODIFIER_KEYSYMS:
            code = self._keycode(name)
            if code and keymap[code // 8] & (1 << (code % 8)):
                xtest.fake_input(self._d, X.KeyRelease, code)
        self._d.sync()

    def _tap(self, codes: list[int]) -> None:
        """Press ``codes`` in order, release them in reverse (a chord, or one key)."""
        from Xlib import X
        from Xlib.ext import xtest

        for code in codes:
            xtest.fake_input(self._d, X.KeyPress, code)
        for code in reversed(codes):
            xtest.fake_input(self._d, X.KeyRelease, code)

    def _ping_window(self, target: Target | None) -> Any | None:
        """The client window in ``target`` that answers ``_NET_WM_PING``, if any."""
        if target is None:
            return None
        ping = self._atom("_NET_WM_PING")
        pending = [self._d.create_resource_object("window", target.id)]
        for _ in range(32):
            if not pending:
                break
            w = pending.pop(0)
            try:
                if ping in (w.get_wm_protocols() or ()):
                    return w
                pending.extend(w.query_tree().children)
            except Exception:  # noqa: BLE001 - a window destroyed meanwhile
                continue
        return None

    def _settle(self, client: Any | None) -> None:
        """Wait until the target has handled the keys sent so far (see the docstring)."""
        if not self._unsettled:
            return
        self._unsettled = False
        if client is None:
            wait = self.timing.rebind_pause_s - (time.monotonic() - self._last_bind)
            if wait > 0:
                time.sleep(wait)
            return
        from Xlib import X
        from Xlib.protocol import event

        stamp = (int(time.monotonic() * 1000) & 0x7FFFFFFF) or 1
        while stamp in self._pongs:
            stamp += 1
        ping = event.ClientMessage(
            window=client, client_type=self._atom("WM_PROTOCOLS"),
            data=(32, [self._atom("_NET_WM_PING"), stamp, client.id, 0, 0]),
        )
        client.send_event(ping, event_mask=X.NoEventMask)
        if not self._wait(lambda: stamp in self._pongs, self.timing.ping_timeout_s):
            log.info("window 0x%x did not answer a ping in %g s; typing on", client.id,
                     self.timing.ping_timeout_s)
        self._pongs.discard(stamp)

    def _type(self, text: str, client: Any | None = None) -> None:
        if not self._spare:
            raise Unreachable("the keyboard map has no free keycode to type with; "
                              "choose paste in Settings")
        half = max(1, len(self._spare) // 2)
        own = {"\n": self._keycode("Return"), "\t": self._keycode("Tab")}
        chunk: list[int] = []  # keycodes to tap, bound in the current half
        binding: dict[int, int] = {}  # keysym → keycode in the current half
        for char in text.replace("\r\n", "\n"):
            if char in own and own[char]:
                chunk.append(own[char])
                continue
            if char in "\r" or (ord(char) < 0x20):
                continue
            sym = keysym_for(char)
            if sym not in binding:
                if len(binding) == half:
                    self._flush(chunk, binding, client)
                    chunk, binding = [], {}
                binding[sym] = -1
            chunk.append(sym | (1 << 40))  # a keysym still to resolve (marked)
        self._flush(chunk, binding, client)

    def _flush(self, chunk: list[int], binding: dict[int, int], client: Any | None) -> None:
        """Bind the chunk's keysyms to one half of the spare keycodes, then tap the chunk."""
        if not chunk:
            return
        if binding:
            codes = self._next_half()
            if any(self._bound.get(code) != sym for sym, code in zip(binding, codes)):
                self._settle(client)
            for sym, code in zip(list(binding), codes):
                binding[sym] = code
                self._bind(code, sym)
            self._d.sync()
        for item in chunk:
            code = binding[item & ~(1 << 40)] if item >> 40 else item
            self._tap([code])
        self._d.sync()
        self._last_bind = time.monotonic()
        self._unsettled = True

    def _next_half(self) -> list[int]:
        half = max(1, len(self._spare) // 2)
        codes = self._spare[self._half * half:(self._half + 1) * half] or self._spare[:half]
        self._half = 1 - self._half
        return codes

    def _bind(self, code: int, sym: int) -> None:
        if self._bound.get(code) == sym:
            return
        width = len(self._d.get_keyboard_mapping(code, 1)[0])
        self._d.change_keyboard_mapping(code, [[sym] * width])
        self._bound[code] = sym

    def _unbind_all(self) -> None:
        try:
            for code in list(self._bound):
                width = len(self._d.get_keyboard_mapping(code, 1)[0])
                self._d.change_keyboard_mapping(code, [[0] * width])
            self._bound.clear()
            self._d.sync()
        except Exception:  # noqa: BLE001 - closing: the server may be gone
            pass

    def _spare_keycodes(self) -> list[int]:
        info = self._d.display.info
        first = max(info.min_keycode, 9)  # keycode 8 is ignored by some toolkits
        mapping = self._d.get_keyboard_mapping(first, info.max_keycode - first + 1)
        return [first + i for i, row in enumerate(mapping) if not any(row)]

    def _app_window(self, target: Target) -> Any | None:
        """The application's own window in ``target`` (the one with WM_CLASS: under a
        reparenting window manager the top level is the manager's frame)."""
        pending = [self._d.create_resource_object("window", target.id)]
        for _ in range(32):
            if not pending:
                break
            w = pending.pop(0)
            try:
                if w.get_wm_class():
                    return w
                pending.extend(w.query_tree().children)
            except Exception:  # noqa: BLE001 - a window destroyed meanwhile
                continue
        return None

    def _client_of(self, resource: int) -> int:
        """The X client that created ``resource``: ids of one connection share the bits
        outside the server's resource-id mask."""
        return resource & ~self._d.display.info.resource_id_mask

    def _paste_text(self, text: str, chord: Chord, target: Target | None = None) -> None:
        from Xlib import Xatom

        stamp = self._server_time()
        saved = self._save_clipboard(stamp)
        data = text.encode("utf-8")
        content: Content = {self._atom(n): (self._atom("UTF8_STRING"), 8, data)
                            for n in ("UTF8_STRING", "text/plain;charset=utf-8")}
        content[Xatom.STRING] = (Xatom.STRING, 8, text.encode("latin-1", "replace"))
        content[self._atom("TEXT")] = (self._atom("UTF8_STRING"), 8, data)
        # KDE's Klipper (and managers that follow it) skip entries carrying this hint.
        content[self._atom("x-kde-passwordManagerHint")] = (Xatom.STRING, 8, b"secret")
        app = self._app_window(target) if target is not None else None
        paste = _Paste(self._client_of(app.id) if app is not None else None)
        self._paste = paste
        self._own(content, stamp)
        if self._d.get_selection_owner(self._clipboard) != self._win:
            self._paste = None
            raise InsertError("could not take the clipboard to paste")
        try:
            self._tap(self._chord(chord))
            self._d.sync()
            read = self._wait(lambda: paste.served > 0 or paste.lost, self.timing.read_timeout_s)
            if read and not paste.lost:
                self._wait(lambda: paste.lost or
                           time.monotonic() - paste.last >= self.timing.quiet_s,
                           self.timing.read_timeout_s)
        finally:
            self._paste = None
            if not paste.lost:
                if saved:
                    self._own(saved, self._server_time())
                else:
                    self._content = None
                    self._give_up(self._server_time())
        if paste.lost and paste.served == 0:
            raise InsertError("another application took the clipboard before the text was "
                              "pasted")
        if paste.served == 0:
            raise InsertError(f"the application did not read the clipboard within "
                              f"{self.timing.read_timeout_s:g} s")

    def _own(self, content: Content, timestamp: int) -> None:
        self._content = content
        self._owned_at = timestamp
        self._win.set_selection_owner(self._clipboard, timestamp)
        self._d.sync()

    def _give_up(self, timestamp: int) -> None:
        """Leave CLIPBOARD without an owner (it was empty before the paste)."""
        from Xlib import X
        from Xlib.protocol import request

        request.SetSelectionOwner(display=self._d.display, window=X.NONE,
                                  selection=self._clipboard, time=timestamp)
        self._d.sync()

    def _chord(self, chord: Chord) -> list[int]:
        names = {
            Chord.CTRL_V: ["Control_L", "v"],
            Chord.CTRL_SHIFT_V: ["Control_L", "Shift_L", "v"],
            Chord.SHIFT_INSERT: ["Shift_L", "Insert"],
            Chord.CMD_V: ["Control_L", "v"],  # no Cmd on X11
        }[chord]
        codes = [self._keycode(n) for n in names]
        if not all(codes):
            raise Unreachable(f"the keyboard has no key for {chord.value}")
        return codes

    def _server_time(self) -> int:
        """A real server timestamp (ICCCM asks for one, not CurrentTime): the time of a
        PropertyNotify we cause on our own window."""
        from Xlib import X, Xatom

        stamp: list[int] = []
        prop = self._atom("TINGXIE_TIME")
        self._win.change_property(prop, Xatom.STRING, 8, b"")
        self._d.flush()
        deadline = time.monotonic() + 1.0
        while not stamp and time.monotonic() < deadline:
            select.select([self._d.fileno()], [], [], 0.05)
            while self._d.pending_events():
                ev = self._d.next_event()
                if (ev.type == X.PropertyNotify and ev.window == self._win
                        and ev.atom == prop and not stamp):
                    stamp.append(ev.time)
                else:
                    self._handle(ev)
        return stamp[0] if stamp else X.CurrentTime

    # --- atoms and keys ------------------------------------------------------------------
    def _atom(self, name: str, d: Any = None) -> int:
        """The atom for ``name`` (the same on every connection to the server), interned on
        ``d`` (default: the X thread's connection) the first time."""
        atom = self._atoms.get(name)
        if atom is None:
            atom = self._atoms[name] = (self._d if d is None else d).intern_atom(name)
        return atom

    def _atom_name(self, atom: int) -> str:
        for name, value in self._atoms.items():
            if value == atom:
                return name
        try:
            return str(self._d.get_atom_name(atom))
        except Exception:  # noqa: BLE001
            return str(atom)

    def _keycode(self, name: str) -> int:
        from Xlib import XK

        sym = XK.string_to_keysym(name)
        return int(self._d.keysym_to_keycode(sym)) if sym else 0


def _items(data: bytes, fmt: int) -> bytes | list[int]:
    """Property data as python-xlib's ``change_property`` wants it for ``fmt``."""
    if fmt == 8:
        return data
    import array

    arr = array.array("H" if fmt == 16 else "I")
    arr.frombytes(data[: len(data) - len(data) % arr.itemsize])
    return list(arr)


def _bytes(value: Any, fmt: int) -> bytes:
    """Property data as bytes (python-xlib gives str/bytes for 8, arrays for 16/32)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")
    import array

    arr = array.array("H" if fmt == 16 else "I", list(value))
    return arr.tobytes()
