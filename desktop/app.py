"""Building and running the desktop app. ``run`` is what ``tingxie.__main__`` calls;
``build`` assembles the same window for tests."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLocale, QSettings
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication

from tingxie.engine.handle import EngineHandle, EngineState, Loader
from tingxie.engine.loader import EngineConfig
from tingxie.engine.vad import EndpointConfig, SpeechProbability

from .audio import AudioSource, SoundDeviceSource
from .autostart import Autostart
from .bridge import EngineBridge
from .cues import Cues
from .dictation import Dictation, DictationConfig
from .engine_settings import DefaultChoice, EngineChoice, EngineSettings
from .events import Problem, ProblemKind
from .global_keys import GlobalKeys, SourceFactory
from .hands_free import HandsFree
from .history import History, data_dir
from .i18n import Texts, choose_language
from .insertion.base import TextInserter
from .insertion.sink import OWN, InsertConfig, InsertSink
from .keys import ButtonSource, QtTimer, WindowKeySource
from .microphone import MicrophoneConfig, MicrophoneSupervisor
from .platform import Unavailable, global_hold_key, text_inserter
from .preview import PreviewController, PreviewWindow
from .push_to_talk import PushToTalk, TalkMode
from .service import ConnectionsListener, EmbeddedServer, ServiceController
from .settings import AppSettings
from .sinks import FanOut, HistorySink
from .tray import Tray
from .window import MainWindow, ModelChooser, ask_model_folder, asset_path

log = logging.getLogger(__name__)

HandleFactory = Callable[[str | None], EngineHandle]
"""Given the model the user last chose in the window (None if never), builds the handle."""

ServerFactory = Callable[[EngineHandle, str, int, ConnectionsListener], EmbeddedServer]
"""``(handle, host, port, on_connections) -> server`` sharing the app's engine, not started
(see ``tingxie.desktop.service``)."""

LoaderFor = Callable[[str], Loader]
"""Builds an ``EngineHandle`` loader for a model name or local folder."""

ConfigLoader = Callable[[EngineConfig], Loader]
"""Builds an ``EngineHandle`` loader for a whole engine configuration."""

ORGANIZATION = "Tingxie"
APPLICATION = "tingxie"


def default_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def default_config_loader(config: EngineConfig) -> Loader:
    """Loads the engine ``config`` describes: streaming model and second pass."""
    from tingxie.engine.loader import load_recognizer

    return lambda progress: load_recognizer(config, progress)


def default_server_factory() -> ServerFactory | None:
    """The ``server/`` package's background server, or None if it is not available."""
    try:
        from tingxie.server.background import BackgroundServer
        from tingxie.server.config import ServerConfig
    except ImportError:
        log.info("server/ is not available: the embedded service is off")
        return None

    def factory(
        handle: EngineHandle, host: str, port: int, on_connections: ConnectionsListener
    ) -> EmbeddedServer:
        return BackgroundServer(
            handle, ServerConfig(host=host, port=port), on_connections=on_connections
        )

    return factory


def app_icon() -> QIcon:
    for name in ("tingxie.svg", "tingxie.png"):
        path = asset_path(name)
        if path.exists():
            return QIcon(str(path))
    return QIcon()


@dataclass
class DesktopApp:
    """Everything ``build`` made; tests reach the parts through it."""

    window: MainWindow
    dictation: Dictation
    bridge: EngineBridge
    service: ServiceController
    settings: AppSettings
    handle: EngineHandle
    history: History
    history_sink: HistorySink
    microphone: MicrophoneSupervisor
    push_to_talk: PushToTalk
    insert_sink: InsertSink | None = None
    global_keys: GlobalKeys | None = None
    preview: PreviewController | None = None
    tray: Tray | None = None
    cues: Cues | None = None
    engine_settings: EngineSettings | None = None


def build(
    handle: EngineHandle,
    *,
    settings: AppSettings,
    audio: AudioSource,
    history: History,
    server_factory: ServerFactory | None = None,
    loader_for: LoaderFor | None = None,
    load: ConfigLoader = default_config_loader,
    engine_settings: EngineSettings | None = None,
    config: DictationConfig | None = None,
    microphone_config: MicrophoneConfig | None = None,
    language: str | None = None,
    choose_model_folder: ModelChooser = ask_model_folder,
    start: bool = True,
    service_port: int | None = None,
    inserter: TextInserter | None = None,
    global_source: SourceFactory | None = None,
    speech_model: Callable[[], SpeechProbability] | None = None,
    tray_available: bool | None = None,
    autostart: Autostart | None = None,
) -> DesktopApp:
    """Assemble bridge, microphone, dictation, result sinks, push-to-talk controller and its
    sources, service and window (a QApplication must exist).

    ``inserter``: where finals are typed into other applications (None: nowhere, the
    window only); ``global_source``: makes the desktop-wide keys (None: only Space and the
    button). ``run`` passes the platform's; tests pass fakes or real X11 ones.
    ``speech_model``: the voice-activity model of hands-free mode, loaded at its first
    hands-free utterance (None: Silero's). ``tray_available``: None asks the desktop.
    ``autostart``: where "start on login" is kept (None: not offered).

    ``engine_settings``: the engine's configuration from the command line and Settings,
    and the user's hotwords and rules (None: nothing from a command line, the files beside
    the history). A change of Settings that needs another engine reloads it with
    ``load``; a model folder chosen in the window loads with ``loader_for`` if given.

    With ``start`` the microphone is opened, the model load started if not yet, and the
    service started if the settings enable it.
    """
    bridge = EngineBridge()
    bridge.watch(handle)
    if engine_settings is None:
        engine_settings = EngineSettings(DefaultChoice(), settings, history.path.parent)
    texts = Texts(language or choose_language(settings.language, QLocale.system().name()))
    microphone = MicrophoneSupervisor(
        audio,
        bridge,
        config=microphone_config or MicrophoneConfig(idle_release_s=settings.idle_release_s),
        device=settings.microphone,
    )
    # Final results: queued for the history's writer thread (which then hands each to the
    # insertion sink: typed only once it is on disk), and posted to the transcript.
    push_to_talk: PushToTalk | None = None
    insert_sink = (
        InsertSink(
            inserter,
            bridge.problem,
            config=insert_config(settings),
            held=lambda: push_to_talk is not None and push_to_talk.held,
            events=bridge,
        )
        if inserter is not None
        else None
    )
    history_sink = HistorySink(history, bridge.problem, then=[insert_sink] if insert_sink else [])
    sinks = FanOut([history_sink, bridge], bridge.problem)
    # Read on the voice-activity thread: a snapshot, renewed when the settings change.
    endpoint = [EndpointConfig(silence_s=settings.hands_free_silence_s)]
    hands_free = HandsFree(
        lambda number: dictation.release(number),
        speech_model or default_speech_model,
        bridge.problem,
        enabled=lambda: push_to_talk is not None and push_to_talk.mode is TalkMode.HANDS_FREE,
        config=lambda: endpoint[0],
    )
    window_sources: list[object] = []  # Space and the button, added below

    def press_context() -> object:
        """Where the text of this press goes: nowhere else if it came from the window."""
        assert insert_sink is not None
        if push_to_talk is not None and push_to_talk.pressed_by in window_sources:
            return OWN
        return insert_sink.focused()

    dictation = Dictation(
        handle,
        microphone,
        bridge,
        sinks,
        config=config or DictationConfig(),
        context=press_context if insert_sink is not None else None,
        monitor=hands_free,
        refinement=engine_settings.refinement,
    )
    push_to_talk = PushToTalk(dictation, QtTimer(bridge), mode=settings.talk_mode)
    global_keys = (
        GlobalKeys(
            push_to_talk,
            insert_sink.paste_last if insert_sink is not None else (lambda: None),
            global_source,
            bridge.problem,
        )
        if global_source is not None
        else None
    )

    preview = PreviewController(bridge, PreviewWindow(texts), enabled=settings.preview_enabled)
    cues = Cues(enabled=settings.sound_cues)
    cues.follow(bridge)
    tray = Tray(app_icon(), texts, mode=settings.talk_mode, available=tray_available)
    tray.follow(bridge, engine=handle.status, audio=microphone.status)

    def before_shutdown() -> None:
        if global_keys is not None:
            global_keys.close()
        hands_free.close()
        preview.enabled = False
        cues.close()
        tray.hide()

    def settings_applied() -> None:
        endpoint[0] = EndpointConfig(silence_s=settings.hands_free_silence_s)
        push_to_talk.mode = settings.talk_mode
        tray.set_mode(settings.talk_mode)
        preview.enabled = settings.preview_enabled
        cues.enabled = settings.sound_cues
        if insert_sink is not None:
            insert_sink.config = insert_config(settings)
        if global_keys is not None:
            global_keys.apply(settings.hold_key, settings.paste_last_key, settings.global_keys)
        engine = engine_settings.apply()
        if engine is not None:  # another model, or ITN wanted where it was not loaded
            handle.reload(engine.model, load(engine))

    service = ServiceController(
        (
            (lambda host, port, listener: server_factory(handle, host, port, listener))
            if server_factory
            else None
        ),
        bridge.service_changed,
    )

    def model_chosen(folder: str) -> None:
        engine = engine_settings.model_chosen(folder)
        handle.reload(folder, loader_for(folder) if loader_for is not None else load(engine))

    window = MainWindow(
        dictation,
        push_to_talk,
        bridge,
        handle,
        settings,
        texts,
        service,
        on_model_chosen=model_chosen,
        choose_model_folder=choose_model_folder,
        icon=app_icon(),
        service_port=service_port,
        on_settings_applied=settings_applied,
        before_shutdown=before_shutdown,
        keep_in_tray=lambda: settings.close_to_tray and tray.available,
        autostart=autostart,
        engine_settings=engine_settings,
    )

    def mode_chosen(mode: TalkMode) -> None:
        settings.talk_mode = mode
        settings.sync()
        settings_applied()

    def notify(problem: Problem) -> None:
        # The window may be hidden: what only the user can act on also goes to the tray.
        # Those of typing into another application: the user is looking there, not here.
        elsewhere = problem.kind in (ProblemKind.INSERT_NOTICE, ProblemKind.FOCUS_MOVED,
                                     ProblemKind.INSERT_FAILED)
        if elsewhere or not window.isVisible():
            tray.notify("Tingxie", texts(f"problem_{problem.kind.value}", detail=problem.detail))

    tray.show_window_requested.connect(window.bring_to_front)
    tray.mode_chosen.connect(mode_chosen)
    tray.pause_toggled.connect(
        lambda paused: global_keys.pause(paused) if global_keys is not None else None)
    tray.paste_last_requested.connect(
        lambda: insert_sink.paste_last() if insert_sink is not None else None)
    tray.settings_requested.connect(window.open_settings)
    # The tray's menu gets "Hotwords and rules…" just above its "Settings…".
    vocabulary_action = QAction(texts("vocabulary"), tray)
    vocabulary_action.triggered.connect(lambda _checked=False: window.open_vocabulary())
    tray.menu.insertAction(tray.settings_action, vocabulary_action)
    tray.quit_requested.connect(window.quit)
    bridge.problem_raised.connect(notify)
    tray.show()
    window_sources += [WindowKeySource(window), ButtonSource(window.talk_button)]
    for source in window_sources:
        push_to_talk.add(source)  # type: ignore[arg-type]
    if global_keys is not None:
        global_keys.apply(settings.hold_key, settings.paste_last_key, settings.global_keys)
    if start:
        microphone.start()
        if handle.status.state is EngineState.NOT_LOADED:
            handle.load_in_background()
        window.apply_service_settings()
    return DesktopApp(
        window,
        dictation,
        bridge,
        service,
        settings,
        handle,
        history,
        history_sink,
        microphone,
        push_to_talk,
        insert_sink,
        global_keys,
        preview,
        tray,
        cues,
        engine_settings,
    )


def default_speech_model() -> SpeechProbability:
    from tingxie.engine.silero_vad import SileroVad

    return SileroVad()


def insert_config(settings: AppSettings) -> InsertConfig:
    return InsertConfig(
        enabled=settings.insert_enabled,
        method=settings.insert_method,
        paste_apps=settings.paste_apps,
    )


def platform_parts() -> tuple[TextInserter | None, SourceFactory | None, list[Problem]]:
    """This desktop's inserter and global key factory, and what could not be had (shown
    in the window; the app runs on without)."""
    problems = []
    inserter: TextInserter | None = None
    try:
        inserter = text_inserter()
    except Unavailable as exc:
        log.warning("text cannot be typed into other applications: %s", exc)
        problems.append(Problem(ProblemKind.INSERT_FAILED, str(exc)))
    return inserter, global_hold_key, problems


def run(
    handle: EngineHandle | HandleFactory | None = None,
    *,
    engine: EngineChoice | None = None,
    argv: Sequence[str] | None = None,
    settings: QSettings | None = None,
    audio: AudioSource | None = None,
    server_factory: ServerFactory | None | str = "default",
    loader_for: LoaderFor | None = None,
    load: ConfigLoader = default_config_loader,
    history_dir: Path | None = None,
    service_port: int | None = None,
) -> int:
    """Run the GUI until its window closes; returns the exit code.

    ``engine``: what the command line asked of the engine (``tingxie.config.Options``);
    with it and no ``handle``, the handle is built here, on the command line's choices
    and the user's Settings where it made none (``EngineSettings``). Else ``handle`` is the
    shared ``EngineHandle`` or a factory given the model the user last chose in the window
    (``tingxie --model`` should win over it). The model load is started
    here if the handle is still NOT_LOADED. ``server_factory``: "default" uses ``server/``,
    None disables the embedded service. ``history_dir`` overrides ``TINGXIE_DATA_DIR`` and
    the platform data directory; ``service_port`` overrides the saved port for this run
    (it is not saved).
    """
    existing = QApplication.instance()
    app = (
        existing
        if isinstance(existing, QApplication)
        else QApplication(list(argv if argv is not None else sys.argv[:1]))
    )
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Tingxie 听写")
    app.setWindowIcon(app_icon())
    app_settings = AppSettings(settings if settings is not None else default_settings())
    folder = history_dir or data_dir()
    engine_settings = EngineSettings(engine or DefaultChoice(), app_settings, folder)
    if handle is None:
        loaded = engine_settings.loaded
        handle = EngineHandle(loaded.model, load(loaded))
    elif not isinstance(handle, EngineHandle):
        handle = handle(app_settings.model)
    factory = default_server_factory() if server_factory == "default" else server_factory
    history = History(folder / "history.jsonl")
    inserter, global_source, problems = platform_parts()
    desktop = build(
        handle,
        settings=app_settings,
        audio=audio if audio is not None else SoundDeviceSource(),
        history=history,
        server_factory=factory,  # type: ignore[arg-type]
        loader_for=loader_for,
        load=load,
        engine_settings=engine_settings,
        service_port=service_port,
        inserter=inserter,
        global_source=global_source,
        autostart=Autostart(),
    )
    for problem in problems:
        desktop.bridge.problem(problem)
    desktop.window.show()
    # Hidden in the tray, the window must not end the app by being the last one closed.
    app.setQuitOnLastWindowClosed(False)
    desktop.window.closed.connect(app.quit)
    app.aboutToQuit.connect(desktop.window.shutdown)
    code = app.exec()
    desktop.window.shutdown()
    return int(code)
