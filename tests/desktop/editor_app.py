"""A separate text-editor process for the tests that type into "another application": a Qt
window with one QPlainTextEdit whose whole text is written to ``OUT`` (atomically) after
every change, so a test reads what the user would see in the editor.

    python -m tests.desktop.editor_app OUT [--title T] [--class NAME]

``--class`` sets the window's WM_CLASS class (e.g. "xterm", to be treated as a terminal);
``--key-ms`` makes it a busy application, spending that long on every key press;
``--times`` appends ``<time.monotonic()> <characters>`` to that file at each change (the
clock is the machine's, so another process can compare it with its own).
Prints ``ready 0x<window id>`` once the window is shown and focused.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--title", default="editor")
    parser.add_argument("--class", dest="cls", default="tingxie-test-editor")
    parser.add_argument("--key-ms", type=float, default=0.0)
    parser.add_argument("--times", type=Path)
    args = parser.parse_args()
    # Qt takes WM_CLASS's instance from RESOURCE_NAME and its class from the app name.
    os.environ["RESOURCE_NAME"] = args.cls
    import time

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    class Busy(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.KeyPress:
                time.sleep(args.key_ms / 1000.0)
            return False

    app = QApplication([sys.argv[0]])
    app.setApplicationName(args.cls)
    busy = Busy()
    if args.key_ms:
        app.installEventFilter(busy)
    edit = QPlainTextEdit()
    edit.setWindowTitle(args.title)
    edit.resize(500, 300)
    edit.move(40, 40)

    def save() -> None:
        if args.times is not None:
            with open(args.times, "a") as f:
                f.write(f"{time.monotonic()} {len(edit.toPlainText())}\n")
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(edit.toPlainText(), encoding="utf-8")
        tmp.replace(args.out)

    edit.textChanged.connect(save)
    save()
    edit.show()

    def focus() -> None:
        edit.activateWindow()
        edit.setFocus()
        print(f"ready 0x{int(edit.winId()):x}", flush=True)

    QTimer.singleShot(300, focus)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
