"""The dialog that edits the user's hotwords and replacement rules (``Vocabulary``).

The rules are checked as they are typed: each line that is not a rule is listed with its
number and why. Save writes both files; the engine and the next release read them from
there, so nothing needs a restart. Rules with bad lines are saved too: the good lines
apply, the bad ones are kept as comments, and the dialog stays open saying which.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tingxie.engine.text.hotwords import read_hotwords
from tingxie.engine.text.rules import RuleError, Rules

from .i18n import Texts
from .vocabulary import Vocabulary, check_rules

log = logging.getLogger(__name__)

CHECK_DELAY_MS = 300
"""The rules are checked this long after the last keystroke."""


class VocabularyDialog(QDialog):
    """Two tabs: hotwords (one per line) and replacement rules. ``fixed_hotwords``: those
    the command line gives every utterance (shown, not editable here). ``saved_ok`` tells
    whether the last Save wrote the files."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        texts: Texts,
        parent: QWidget | None = None,
        *,
        fixed_hotwords: tuple[str, ...] = (),
    ) -> None:
        super().__init__(parent)
        self.vocabulary = vocabulary
        self.t = texts
        self.saved_ok = False
        self.setWindowTitle(texts("vocabulary_title"))
        self.resize(560, 480)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs)

        hotwords = QWidget()
        column = QVBoxLayout(hotwords)
        help_label = QLabel(texts("hotwords_help"))
        help_label.setWordWrap(True)
        column.addWidget(help_label)
        self.hotwords_edit = QPlainTextEdit(vocabulary.hotwords_text())
        self.hotwords_edit.setPlaceholderText("听写\n阿里巴巴\nmachine learning")
        column.addWidget(self.hotwords_edit, 1)
        self.hotwords_count = QLabel()
        column.addWidget(self.hotwords_count)
        self.fixed_hotwords = QLabel(
            texts("hotwords_from_command_line", words=" ".join(fixed_hotwords)))
        self.fixed_hotwords.setWordWrap(True)
        self.fixed_hotwords.setVisible(bool(fixed_hotwords))
        column.addWidget(self.fixed_hotwords)
        path = QLabel(texts("saved_in", path=str(vocabulary.hotwords_path)))
        path.setWordWrap(True)
        column.addWidget(path)
        self.tabs.addTab(hotwords, texts("hotwords"))

        rules = QWidget()
        column = QVBoxLayout(rules)
        help_label = QLabel(texts("rules_help"))
        help_label.setWordWrap(True)
        column.addWidget(help_label)
        self.rules_edit = QPlainTextEdit(vocabulary.rules_text())
        self.rules_edit.setPlaceholderText("毫安时 = mAh\nre: (艾特)\\s*(\\w+) = @\\2")
        column.addWidget(self.rules_edit, 1)
        self.rules_count = QLabel()
        column.addWidget(self.rules_count)
        self.rule_errors = QListWidget()
        self.rule_errors.setObjectName("ruleErrors")
        self.rule_errors.setStyleSheet("color: #b00020;")
        self.rule_errors.setMaximumHeight(110)
        column.addWidget(self.rule_errors)
        path = QLabel(texts("saved_in", path=str(vocabulary.rules_path)))
        path.setWordWrap(True)
        column.addWidget(path)
        self.tabs.addTab(rules, texts("rules"))

        self.status = QLabel()
        self.status.setObjectName("vocabularyStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = box.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(texts("save"))
        box.button(QDialogButtonBox.StandardButton.Close).setText(texts("close"))
        box.accepted.connect(self.save)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

        # Checked once typing pauses (each check logs the bad lines it finds).
        self._check_soon = QTimer(self)
        self._check_soon.setSingleShot(True)
        self._check_soon.setInterval(CHECK_DELAY_MS)
        self._check_soon.timeout.connect(self.check)
        self.hotwords_edit.textChanged.connect(self._count_hotwords)
        self.rules_edit.textChanged.connect(self._check_soon.start)
        self._count_hotwords()
        self.check()

    def error_texts(self) -> list[str]:
        """The rule errors as listed."""
        return [self.rule_errors.item(i).text() for i in range(self.rule_errors.count())]

    def _describe(self, error: RuleError) -> str:
        return self.t("rule_error", line=error.line, reason=error.reason, text=error.text)

    def _count_hotwords(self) -> None:
        count = len(read_hotwords(self.hotwords_edit.toPlainText()))
        self.hotwords_count.setText(self.t("hotwords_count", count=count))

    def check(self) -> tuple[RuleError, ...]:
        """List the rules' bad lines as the text is now; returns them."""
        self._check_soon.stop()
        text = self.rules_edit.toPlainText()
        errors = check_rules(text, self.vocabulary.rules_path.name)
        self.rule_errors.clear()
        for error in errors:
            self.rule_errors.addItem(self._describe(error))
        self.rule_errors.setVisible(bool(errors))
        self.rules_count.setText(self.t("rules_count", count=len(Rules.parse(text))))
        return errors

    def save(self) -> None:
        """Write both files. Closes the dialog, unless a rule line was bad (then it stays
        open, showing which lines were kept as comments) or the files could not be written."""
        try:
            self.vocabulary.save_hotwords(self.hotwords_edit.toPlainText())
            saved = self.vocabulary.save_rules(self.rules_edit.toPlainText())
        except OSError as exc:
            log.warning("the vocabulary could not be saved: %s", exc)
            self.saved_ok = False
            self.status.setText(self.t("vocabulary_save_failed", detail=str(exc)))
            self.status.setStyleSheet("color: #b00020;")
            return
        self.saved_ok = True
        if not saved.errors:
            self.status.setText(self.t("vocabulary_saved"))
            self.status.setStyleSheet("")
            self.accept()
            return
        self.rules_edit.setPlainText(saved.text)  # the bad lines, now comments
        self.check()
        self.tabs.setCurrentIndex(1)
        lines = [self.t("rules_saved_with_errors", count=saved.rules)]
        lines += [self._describe(error) for error in saved.errors]
        self.status.setText("\n".join(lines))
        self.status.setStyleSheet("color: #b00020;")
