"""File ▸ Open App…: a spec (``pkg.mod:app``) or a ``.py`` file, with recent apps."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class OpenAppDialog(QDialog):
    def __init__(self, recent: list[str], current: str = "",
                 parent: QWidget | None = None, start_dir: str = "") -> None:
        super().__init__(parent)
        self.start_dir = start_dir  # where Browse… opens: the app's folder
        self.setWindowTitle("Open App")
        self.spec = QComboBox()
        self.spec.setEditable(True)
        self.spec.addItems(recent)
        self.spec.setEditText(current or (recent[0] if recent else ""))
        self.spec.setMinimumWidth(420)
        self.spec.lineEdit().setPlaceholderText("pkg.module:app  or  path/to/file.py")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.spec, 1)
        row.addWidget(browse)
        help_text = QLabel(
            "The same spec gunicorn takes: <code>module:callable</code>, "
            "<code>module:create_app()</code>, or a <code>.py</code> file. "
            "A file's folder becomes the app directory; the app reloads when it changes.")
        help_text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(help_text)
        layout.addWidget(buttons)

    def value(self) -> str:
        return self.spec.currentText().strip()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a WSGI app file", self.start_dir,
                                              "Python files (*.py);;All files (*)")
        if path:
            self.spec.setEditText(path)
