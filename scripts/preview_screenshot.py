"""Screenshot of the floating preview over another application, for docs/images/preview.png.

    .venv/bin/python scripts/preview_screenshot.py [OUT.png]

Starts its own Xvfb (1024x640), opens a plain text editor in a separate process (the
"other application", focused, as it would be while the user dictates into it), shows
Tingxie's ``PreviewWindow`` with a live Chinese partial over it, checks that the editor
still has the keyboard focus, and grabs the whole screen with ImageMagick's
``import -window root``. Needs Xvfb, xdotool and ImageMagick (scripts/system-packages.sh)
and a CJK font (fonts-noto-cjk).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = "1024x640x24"
PARTIAL = "好的，那我们明天下午三点在三号会议室开会，讨论一下下个季度的产品计划"

EDITOR = r"""
import sys
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit, QVBoxLayout, QWidget
app = QApplication(sys.argv[:1])
app.setApplicationName("notes")
w = QWidget()
w.setStyleSheet("QWidget { background: #fafafa; } QLabel { background: #e0e0e0; padding: 6px; }")
layout = QVBoxLayout(w)
layout.setContentsMargins(0, 0, 0, 0)
layout.setSpacing(0)
layout.addWidget(QLabel("会议纪要.txt — 记事本"))
edit = QPlainTextEdit()
edit.setPlainText(
    "周三例会\n\n"
    "1. 上周的版本已经发布，用户反馈整体不错。\n"
    "2. 听写功能：按住右 Ctrl 说话，文字直接输入到光标处。\n"
    "3. 下一步：\n"
)
font = edit.font()
font.setPointSize(font.pointSize() + 3)
edit.setFont(font)
layout.addWidget(edit)
w.setGeometry(60, 40, 904, 560)
w.show()
edit.moveCursor(edit.textCursor().MoveOperation.End)
edit.setFocus()
w.activateWindow()
from PySide6.QtCore import QSocketNotifier
from PySide6.QtTest import QTest
QTest.qWaitForWindowExposed(w, 5000)
print("ready", int(w.winId()), flush=True)
quit_on_eof = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
quit_on_eof.activated.connect(app.quit)
app.exec()
"""


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SIZE, "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        return proc, ":" + f.readline().strip()


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "preview.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    xvfb, display = start_xvfb()
    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    os.environ.pop("QT_QPA_PLATFORMTHEME", None)
    editor = subprocess.Popen([sys.executable, "-c", EDITOR], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert editor.stdout is not None
        ready = editor.stdout.readline().split()
        if not ready or ready[0] != "ready":
            print("the editor did not start", file=sys.stderr)
            return 1
        editor_window = int(ready[1])
        subprocess.run(["xdotool", "windowfocus", "--sync", str(editor_window)], check=True)

        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication

        from tingxie.desktop.i18n import Texts
        from tingxie.desktop.preview import PreviewWindow

        app = QApplication(sys.argv[:1])
        preview = PreviewWindow(Texts("zh"), hold_ms=600_000)
        preview.show_listening()
        preview.show_partial(PARTIAL)
        QTest.qWaitForWindowExposed(preview, 5000)
        QTest.qWait(300)  # let both processes finish painting before the grab
        app.processEvents()
        focus = int(subprocess.run(["xdotool", "getwindowfocus"], check=True,
                                   capture_output=True, text=True).stdout)
        subprocess.run(["import", "-window", "root", str(out)], check=True)
        print(f"wrote {out} ({out.stat().st_size} bytes); focus on the editor: "
              f"{focus == editor_window}")
        return 0 if focus == editor_window else 1
    finally:
        if editor.stdin is not None:
            editor.stdin.close()
        editor.wait(10)
        xvfb.terminate()
        xvfb.wait(10)


if __name__ == "__main__":
    sys.exit(main())
