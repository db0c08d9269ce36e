from __future__ import annotations

from dataclasses import dataclass

MODES = ("test", "live")


@dataclass(frozen=True)
class Principal:
    """Who is calling: one workspace in one mode, through one key."""

    workspace_id: str
    mode: str
    key_id: str

    @property
    def scope(self) -> str:
        return f"{self.workspace_id}#{self.mode}"
