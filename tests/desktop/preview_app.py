"""The floating preview in its own process on a real X display, for
``test_preview_x11.py``: optionally a Tingxie-like main window first (activated), then the
preview with a text. Prints, once the preview is on screen:

    ready 0x<preview window> 0x<main window or 0> <main active before> <main active after>

(the last two: 1/0, as this process's Qt sees it), then runs until stdin closes.

    python -m tests.desktop.preview_app [--main] [--text T]
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--main", action="store_true")
    parser.add_argument("--text", default="今天下午三点开会")
    args = parser.parse_args()

    from PySide6.QtCore import QSocketNotifier
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    from tingxie.desktop.i18n import Texts
    from tingxie.desktop.preview import PreviewWindow

    app = QApplication([sys.argv[0]])
    main_window = None
    before = after = False
    if args.main:
        main_window = QPlainTextEdit()
        main_window.setWindowTitle("Tingxie")
        main_window.resize(400, 300)
        main_window.show()
        main_window.activateWindow()
        before = QTest.qWaitForWindowActive(main_window, 5000)
    preview = PreviewWindow(Texts("zh"), hold_ms=600_000)
    preview.show_listening()
    preview.show_partial(args.text)
    QTest.qWaitForWindowExposed(preview, 5000)
    app.processEvents()
    if main_window is not None:
        after = (
            QApplication.activeWindow() is main_window
            and QApplication.focusWindow() is main_window.windowHandle()
        )
    main_id = int(main_window.winId()) if main_window is not None else 0
    print(f"ready {int(preview.winId()):#x} {main_id:#x} {int(before)} {int(after)}", flush=True)
    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(app.quit)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
