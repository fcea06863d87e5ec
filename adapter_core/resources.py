"""Files shipped in `resources/`: found beside the source tree, or inside an installed wheel.

pyproject's force-include copies `resources/` to `adapter_core/_resources` in the wheel.
"""

from __future__ import annotations

from pathlib import Path

_INSTALLED = Path(__file__).resolve().parent / "_resources"
_SOURCE = Path(__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    base = _INSTALLED if _INSTALLED.is_dir() else _SOURCE
    return base.joinpath(*parts)
