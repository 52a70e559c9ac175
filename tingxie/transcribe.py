"""``tingxie transcribe FILE``: stream an audio file through a session, like a live speaker."""

from __future__ import annotations

import sys
from concurrent.futures import Future
from pathlib import Path
from typing import TextIO

from tingxie.engine.audio import read_audio_file
from tingxie.engine.interface import SAMPLE_RATE, Recognizer, Result

PIECE_MS = 100  # what a microphone callback typically delivers


def transcribe(
    recognizer: Recognizer,
    path: Path,
    *,
    out: TextIO = sys.stdout,
    progress: TextIO = sys.stderr,
    piece_ms: int = PIECE_MS,
) -> Result:
    """Feed ``path`` in ``piece_ms`` pieces, show partials on ``progress`` as the text grows,
    print the final text alone on the last line of ``out``, and return the final result.

    Raises ``AudioFileError`` for an unreadable file, ``EngineError`` if decoding fails.
    """
    samples = read_audio_file(path)
    session = recognizer.open_session()
    step = SAMPLE_RATE * piece_ms // 1000
    shown = [""]
    tty = progress.isatty()

    def show(future: Future[Result]) -> None:
        if future.exception() is not None:
            return
        text = future.result().text
        if text != shown[0]:
            shown[0] = text
            progress.write(("\r\x1b[K" if tty else "") + f"… {text}" + ("" if tty else "\n"))
            progress.flush()

    try:
        pending = []
        for start in range(0, len(samples), step):
            future = session.feed(samples[start : start + step])
            future.add_done_callback(show)
            pending.append(future)
        for future in pending:
            future.result()  # surfaces a decoding failure
        final = session.finish().result()
    finally:
        session.close()
    if tty and shown[0]:
        progress.write("\n")
    out.write(final.text + "\n")
    out.flush()
    return final
