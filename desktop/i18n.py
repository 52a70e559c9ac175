"""The window's words in English and Simplified Chinese. Pure: no Qt.

``choose_language`` picks from a setting ("auto", "en", "zh") and the system locale name.
"""

from __future__ import annotations

LANGUAGES = ("en", "zh")

_TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("Tingxie dictation", "听写"),
    "hold_to_talk": ("Hold to talk\n(or hold Space)", "按住说话\n（或按住空格键）"),
    "release_to_finish": ("Release to finish", "松开结束"),
    "state_idle": ("Idle", "空闲"),
    "state_listening": ("Listening…", "正在听…"),
    "state_finishing": ("Finishing…", "正在识别…"),
    "partial_placeholder": ("Live text appears here while you speak.", "说话时，实时文字显示在这里。"),
    "transcript": ("Transcript", "记录"),
    "copy": ("Copy", "复制"),
    "copy_all": ("Copy all", "全部复制"),
    "clear": ("Clear", "清空"),
    "microphone": ("Microphone:", "麦克风："),
    "default_microphone": ("System default", "系统默认"),
    "rescan": ("Rescan", "重新扫描"),
    "level": ("Input level", "输入音量"),
    "latency": (
        "Release → text: {ms:.0f} ms · real-time factor {rtf:.2f}",
        "松开到出字：{ms:.0f} 毫秒 · 实时率 {rtf:.2f}",
    ),
    "latency_none": ("Release → text: –", "松开到出字：–"),
    "model": ("Model:", "模型："),
    "model_not_loaded": ("{model}: not loaded", "{model}：未加载"),
    "model_downloading": ("{model}: downloading {what}", "{model}：正在下载 {what}"),
    "model_loading": ("{model}: loading…", "{model}：正在加载…"),
    "model_ready": ("{model}: ready ({seconds:.1f} s to load)", "{model}：就绪（加载用时 {seconds:.1f} 秒）"),
    "model_failed": ("{model}: failed — {reason}", "{model}：加载失败 — {reason}"),
    "choose_model": ("Choose a local model folder…", "选择本地模型文件夹…"),
    "service": ("Service:", "服务："),
    "service_off": ("off", "已关闭"),
    "service_starting": ("starting on {url}…", "正在启动 {url}…"),
    "service_running": ("running at {url} — {clients} client(s)", "运行于 {url} — {clients} 个客户端"),
    "service_failed": ("not running — {reason}", "未运行 — {reason}"),
    "settings": ("Settings…", "设置…"),
    "settings_title": ("Settings", "设置"),
    "service_enabled": ("Run the WebSocket service", "运行 WebSocket 服务"),
    "service_port": ("Service port", "服务端口"),
    "port_from_command_line": (
        "Port {port} was set on the command line for this run; change it to save another.",
        "端口 {port} 由命令行为本次运行指定；改动后才会保存新端口。",
    ),
    "language": ("Language (after restart)", "界面语言（重启后生效）"),
    "language_auto": ("System", "跟随系统"),
    "idle_release": (
        "Release the microphone when idle for (after restart)",
        "空闲多久后释放麦克风（重启后生效）",
    ),
    "idle_release_never": ("never", "从不"),
    "mic_ok": ("Microphone: {device}", "麦克风：{device}"),
    "mic_released": ("Microphone released (idle); press to reopen", "麦克风已释放（空闲），按下即重新打开"),
    "problem_no_microphone": (
        "No microphone found. Connect one; Tingxie keeps looking. ({detail})",
        "未找到麦克风。请连接麦克风，听写会自动重试。（{detail}）",
    ),
    "problem_microphone_failed": (
        "The microphone stopped working: {detail}. Retrying…",
        "麦克风出现故障：{detail}。正在重试…",
    ),
    "problem_model_not_ready": (
        "The model is not ready yet ({detail}); try again when it is.",
        "模型尚未就绪（{detail}），请稍后再试。",
    ),
    "problem_recognition_failed": ("Recognition failed: {detail}", "识别失败：{detail}"),
    "problem_history_failed": ("Could not save the history: {detail}", "无法保存历史记录：{detail}"),
    "problem_delivery_failed": ("Could not deliver the text: {detail}", "无法送出文字：{detail}"),
    "copied": ("Copied", "已复制"),
    "ok": ("OK", "确定"),
    "cancel": ("Cancel", "取消"),
    "global_keys": (
        "Dictate into any application with the global keys",
        "使用全局按键向任意应用听写",
    ),
    "hold_key": ("Hold key", "说话键"),
    "talk_mode": ("Mode", "模式"),
    "talk_mode_hold": ("Hold to talk", "按住说话"),
    "talk_mode_toggle": ("Press to start, press to stop", "按一下开始，再按一下结束"),
    "talk_mode_hands-free": (
        "Hands-free: press to start, a pause in speech stops",
        "免提：按一下开始，说完停顿即结束",
    ),
    "hands_free_silence": ("Hands-free stops after a pause of", "免提模式停顿多久后结束"),
    "paste_last_key": ("Paste last result", "粘贴上一条"),
    "insert_enabled": (
        "Type the text where the cursor is in the other application",
        "把文字输入到其他应用的光标处",
    ),
    "insert_method": ("How the text goes in", "输入方式"),
    "insert_method_auto": ("Automatic (paste into terminals)", "自动（终端中粘贴）"),
    "insert_method_type": ("Always type", "始终模拟键入"),
    "insert_method_paste": ("Always paste (the clipboard is restored)", "始终粘贴（恢复剪贴板）"),
    "paste_apps": ("Always paste into (application names)", "始终粘贴的应用（名称）"),
    "preview_enabled": ("Show the floating live preview", "显示浮动实时预览"),
    "sound_cues": ("Sound cues on start and stop", "开始和结束时提示音"),
    "close_to_tray": ("Closing the window keeps Tingxie in the tray", "关闭窗口时保留在托盘中"),
    "start_on_login": ("Start Tingxie when I log in", "登录时启动听写"),
    "problem_focus_moved": (
        "Not typed: {detail}. The text is in the history; use “Paste last result”.",
        "未输入（{detail}）：焦点已离开原窗口。文字已保存在历史中，可用“粘贴上一条”。",
    ),
    "problem_insert_failed": (
        "Could not type into the other application: {detail}. The text is in the history.",
        "无法输入到其他应用：{detail}。文字已保存在历史中。",
    ),
    "problem_insert_notice": ("Note: {detail}", "提示：{detail}"),
    "problem_hotkey_unavailable": (
        "The global key does not work here ({detail}). Space in this window still does.",
        "全局按键在此不可用（{detail}）。在本窗口中按住空格键仍可使用。",
    ),
    # --- the second pass (Settings) and the vocabulary (tingxie.desktop.vocabulary_dialog)
    "second_pass": ("Finished text (at release)", "松开后的成稿"),
    "refine": (
        "Decode the whole utterance again with the offline model at release",
        "松开后用离线模型重新识别整段话",
    ),
    "refine_model": ("Offline model", "离线模型"),
    "punctuate": ("Add punctuation", "添加标点"),
    "punc_model": ("Punctuation model", "标点模型"),
    "itn": ("Write numbers, dates and times as digits (一百二十三 → 123)", "数字、日期和时间写成阿拉伯数字（一百二十三 → 123）"),
    "model_default": ("default: {model}; “none” for no model", "默认：{model}；填“none”则不用模型"),
    "model_change_reloads": (
        "A different model is loaded when you press OK.",
        "按“确定”后加载新模型。",
    ),
    "fixed_by_command_line": ("set on the command line: {value}", "由命令行指定：{value}"),
    "on": ("on", "开"),
    "off": ("off", "关"),
    "vocabulary": ("Hotwords and rules…", "热词和替换规则…"),
    "vocabulary_title": ("Hotwords and replacement rules", "热词和替换规则"),
    "hotwords": ("Hotwords", "热词"),
    "hotwords_help": (
        "One word or phrase per line (names, terms): the offline model favours them. "
        "Lines starting with # are comments.",
        "每行一个词或短语（人名、术语），离线模型会优先识别它们。以 # 开头的行是注释。",
    ),
    "hotwords_count": ("{count} hotword(s)", "{count} 个热词"),
    "hotwords_from_command_line": (
        "Also from the command line: {words}",
        "命令行另外指定：{words}",
    ),
    "rules": ("Replacement rules", "替换规则"),
    "rules_help": (
        "One rule per line, applied to the finished text: “find = replacement”; "
        "“re: pattern = replacement” for a regular expression; # for comments.",
        "每行一条规则，作用于成稿：“原文 = 替换”；正则表达式写作“re: 模式 = 替换”；# 开头为注释。",
    ),
    "rules_count": ("{count} rule(s)", "{count} 条规则"),
    "rule_error": ("Line {line}: {reason} — {text}", "第 {line} 行：{reason} — {text}"),
    "rules_saved_with_errors": (
        "Saved: {count} rule(s) apply. These lines are not rules and were kept as comments:",
        "已保存：{count} 条规则生效。以下各行不是有效规则，已改为注释保留：",
    ),
    "vocabulary_saved": ("Saved; the next utterance uses them.", "已保存，下一句话即生效。"),
    "vocabulary_save_failed": ("Could not save: {detail}", "无法保存：{detail}"),
    "saved_in": ("Kept in {path}", "保存在 {path}"),
    "save": ("Save", "保存"),
    "close": ("Close", "关闭"),
    # --- the tray icon (tingxie.desktop.tray) ------------------------------------------
    "tray_show_window": ("Show window", "显示窗口"),
    "tray_mode": ("Mode", "模式"),
    "tray_mode_hold": ("Hold to talk", "按住说话"),
    "tray_mode_toggle": ("Press to start, press again to stop", "按一下开始，再按一下结束"),
    "tray_mode_hands_free": ("Hands-free (stops after silence)", "免提（静音后自动结束）"),
    "tray_pause": ("Pause the hotkey", "暂停快捷键"),
    "tray_paste_last": ("Paste last result", "粘贴上一条"),
    "tray_quit": ("Quit", "退出"),
    "tray_tooltip": ("Tingxie — {state}", "听写 — {state}"),
    "tray_loading": ("Loading the model…", "正在加载模型…"),
    "tray_error": ("Problem: {detail}", "出现问题：{detail}"),
    "tray_paused": ("{state} (hotkey paused)", "{state}（快捷键已暂停）"),
}


def choose_language(setting: str, system_locale: str) -> str:
    """"en" or "zh": the setting if it names one, else from the locale ("zh_CN" → "zh")."""
    if setting in LANGUAGES:
        return setting
    return "zh" if system_locale.lower().startswith("zh") else "en"


class Texts:
    """Looks up the window's words in one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self._index = LANGUAGES.index(self.language)

    def __call__(self, key: str, **values: object) -> str:
        text = _TEXT[key][self._index]
        return text.format(**values) if values else text


def keys() -> list[str]:
    return list(_TEXT)
