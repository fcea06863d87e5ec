"""The desktop entry and the AppStream metainfo, filled in from the project's metadata.

The templates in packaging/linux/ hold the words; the component id, the homepage and the
release history come from `project.Project`, so the version in the metainfo is always the
one in pyproject.toml.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from project import PACKAGING, Project

TEMPLATES = PACKAGING / "linux"
WM_CLASS = "TradingView Adapter Console"
"""The class in the WM_CLASS Qt gives the console's windows: the application name console/app.py
sets (the instance part is the program's name). StartupWMClass names it, so that the desktop
ties the window to this entry and shows its icon; tests/packaging/test_bundle.py checks it on X."""
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    left = _PLACEHOLDER.findall(template)
    if left:
        raise ValueError(f"placeholders left unfilled: {', '.join(sorted(set(left)))}")
    return template


def releases_xml(project: Project) -> str:
    lines = []
    for release in project.releases:
        lines.append(
            f"    <release version={quoteattr(release.version)} date={quoteattr(release.date)}>"
        )
        lines.append("      <description>")
        lines.append("        <ul>")
        lines += [f"          <li>{escape(note)}</li>" for note in release.notes]
        lines.append("        </ul>")
        lines.append("      </description>")
        lines.append("    </release>")
    return "\n".join(lines)


def write(project: Project, target: Path) -> tuple[Path, Path]:
    """`target`/APP_ID.desktop and `target`/APP_ID.metainfo.xml."""
    values = {
        "APP_ID": project.app_id,
        "HOMEPAGE": escape(project.homepage),
        "WM_CLASS": WM_CLASS,
        "RELEASES": releases_xml(project),
    }
    target.mkdir(parents=True, exist_ok=True)
    desktop = target / f"{project.app_id}.desktop"
    metainfo = target / f"{project.app_id}.metainfo.xml"
    for path, template in (
        (desktop, "tv-adapter-console.desktop.in"),
        (metainfo, "tv-adapter-console.metainfo.xml.in"),
    ):
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        path.write_text(_fill(text, values), encoding="utf-8")
    return desktop, metainfo
