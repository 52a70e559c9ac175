from pathlib import Path

from PySide6.QtCore import QSettings

from tingxie.desktop.settings import DEFAULT_PORT, AppSettings


def test_defaults_round_trip_and_bad_values(tmp_path: Path) -> None:
    path = str(tmp_path / "s.ini")
    s = AppSettings(QSettings(path, QSettings.Format.IniFormat))
    assert (s.microphone, s.model, s.service_enabled, s.service_port, s.language) == (
        None, None, True, DEFAULT_PORT, "auto",
    )
    assert s.idle_release_s == 0.0
    s.microphone, s.model, s.service_enabled, s.service_port = "USB", "/models/x", False, 8080
    s.language, s.idle_release_s = "zh", 30
    s.sync()
    again = AppSettings(QSettings(path, QSettings.Format.IniFormat))
    assert (again.microphone, again.model, again.service_enabled, again.service_port) == (
        "USB", "/models/x", False, 8080,
    )
    assert (again.language, again.idle_release_s) == ("zh", 30.0)
    again.store.setValue("service/port", "99999")
    again.store.setValue("ui/language", "klingon")
    assert again.service_port == DEFAULT_PORT and again.language == "auto"


def test_the_second_pass_settings_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "s.ini")
    s = AppSettings(QSettings(path, QSettings.Format.IniFormat))
    assert (s.refine, s.punctuate, s.itn, s.refine_model, s.punc_model) == (
        True, True, True, None, None)
    s.refine, s.punctuate, s.itn = False, False, False
    s.refine_model, s.punc_model = " /models/my-paraformer ", "none"
    s.sync()
    again = AppSettings(QSettings(path, QSettings.Format.IniFormat))
    assert (again.refine, again.punctuate, again.itn) == (False, False, False)
    assert (again.refine_model, again.punc_model) == ("/models/my-paraformer", "none")
    again.refine_model = ""
    assert again.refine_model is None
