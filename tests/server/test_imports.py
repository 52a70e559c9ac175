"""The service never imports Qt (``--server-only`` runs on a box without display libraries),
and importing it does no work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_server_modules_import_without_qt_or_torch() -> None:
    code = (
        "import sys, logging\n"
        "import tingxie.server.protocols.base, tingxie.server.protocols.seed\n"
        "import tingxie.server.protocols.seed_messages, tingxie.server.router\n"
        "import tingxie.server.app, tingxie.server.background, tingxie.server.cli\n"
        "import tingxie.server.stats\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'torch', 'funasr')]\n"
        "assert not bad, bad\n"
        "assert not logging.getLogger().handlers, 'logging configured at import'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
