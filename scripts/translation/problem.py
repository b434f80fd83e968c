"""One problem that ``check`` reports: the file, what is wrong, and the message."""

from __future__ import annotations

from dataclasses import dataclass

from .catalogues import short


@dataclass(frozen=True)
class Problem:
    file: str
    kind: str
    msgid: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.file}: {self.kind}{detail}: {short(self.msgid)!r}"
