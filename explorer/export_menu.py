"""File-menu actions for exporting figures (filled in by the export work)."""

from __future__ import annotations

from typing import Any


def install_export_actions(main_window: Any) -> None:
    """Add the export actions to ``main_window``'s File menu."""
