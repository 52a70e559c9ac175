import json
from pathlib import Path

from tingxie.desktop.history import FinalUtterance, History, data_dir


def test_data_dir_override_and_default() -> None:
    assert data_dir({"TINGXIE_DATA_DIR": "/x/y"}) == Path("/x/y")
    default = data_dir({})
    assert "tingxie" in str(default).lower()


def test_append_writes_one_json_object_a_line(tmp_path: Path) -> None:
    h = History(tmp_path / "sub" / "history.jsonl")
    h.append(FinalUtterance("2026-01-01T00:00:00+00:00", "你好", 1.5, 1.9, 120.0))
    h.append(FinalUtterance("2026-01-01T00:00:05+00:00", "世界", 0.5, 0.9, 80.0))
    lines = h.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["你好", "世界"]
    assert "你好" in lines[0]  # readable UTF-8, not \\u escapes
    assert set(json.loads(lines[0])) == {"time", "text", "duration", "audio", "latency", "rtf"}
    assert h.read()[1].latency == 80.0
