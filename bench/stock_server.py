"""The baseline service for ``bench.service_bench``: Tingxie's /ws/asr front end over stock
FunASR — ``AutoModel.generate`` called per 600 ms chunk (fp32), one utterance at a time, as
FunASR documents streaming. Not part of the product.

    python -m bench.stock_server MODEL_DIR PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.common import GenerateDecoder
from tingxie.engine import funasr_backend
from tingxie.engine.handle import EngineHandle
from tingxie.engine.streaming import StreamingRecognizer
from tingxie.server.cli import run_server_only
from tingxie.server.config import ServerConfig


def main() -> int:
    model, port = Path(sys.argv[1]), int(sys.argv[2])
    decoder = funasr_backend.load(model, name="stock", threads=2, precision="fp32")
    recognizer = StreamingRecognizer(GenerateDecoder(decoder.automodel, decoder.info))
    try:
        return run_server_only(
            EngineHandle.ready(recognizer), ServerConfig(port=port, max_connections=64)
        )
    finally:
        recognizer.close()


if __name__ == "__main__":
    sys.exit(main())
