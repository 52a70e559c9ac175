"""The Tingxie desktop app (PySide6): hold to talk, see the text live, keep everything said.

Only this package imports Qt. Nothing happens at import time; ``tingxie.desktop.app.run`` is the
entry point the composition root (``tingxie.__main__``) calls.
"""
