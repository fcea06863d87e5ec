#!/usr/bin/env bash
# Name the system libraries the console's Qt needs and this machine lacks, as Debian packages.
#
#   packaging/check-system-libraries.sh .venv/bin/python
#
# `make run` calls this before starting the console. When the xcb platform plugin cannot load,
# Qt says only "xcb-cursor0 or libxcb-cursor0 is needed" (since Qt 6.5), whatever is really
# missing. This runs ldd on the plugin and on the Qt libraries and PySide6 modules the console
# loads, and prints one apt-get line for every library not found. It is silent and succeeds
# when nothing is missing, and where it cannot tell: no ldd (not Linux), no PySide6 yet.
set -euo pipefail

# soname -> Debian package (bookworm; the same names on Ubuntu 22.04 and later). Derived by
# running ldd on the files below (PySide6-Essentials 6.11) and `dpkg -S` on each library it
# resolved; libraries of every Debian base system (libc6, libstdc++6, libgcc-s1, zlib1g,
# libzstd1, libsystemd0 and what they need) are left out.
declare -A package_of=(
    [libEGL.so.1]=libegl1
    [libGL.so.1]=libgl1
    [libGLX.so.0]=libglx0
    [libGLdispatch.so.0]=libglvnd0
    [libX11-xcb.so.1]=libx11-xcb1
    [libX11.so.6]=libx11-6
    [libXau.so.6]=libxau6
    [libXdmcp.so.6]=libxdmcp6
    [libbrotlicommon.so.1]=libbrotli1
    [libbrotlidec.so.1]=libbrotli1
    [libbsd.so.0]=libbsd0
    [libdbus-1.so.3]=libdbus-1-3
    [libexpat.so.1]=libexpat1
    [libfontconfig.so.1]=libfontconfig1
    [libfreetype.so.6]=libfreetype6
    [libglib-2.0.so.0]=libglib2.0-0
    [libgthread-2.0.so.0]=libglib2.0-0
    [libpng16.so.16]=libpng16-16
    [libxcb-cursor.so.0]=libxcb-cursor0
    [libxcb-icccm.so.4]=libxcb-icccm4
    [libxcb-image.so.0]=libxcb-image0
    [libxcb-keysyms.so.1]=libxcb-keysyms1
    [libxcb-randr.so.0]=libxcb-randr0
    [libxcb-render-util.so.0]=libxcb-render-util0
    [libxcb-render.so.0]=libxcb-render0
    [libxcb-shape.so.0]=libxcb-shape0
    [libxcb-shm.so.0]=libxcb-shm0
    [libxcb-sync.so.1]=libxcb-sync1
    [libxcb-util.so.1]=libxcb-util1
    [libxcb-xfixes.so.0]=libxcb-xfixes0
    [libxcb-xkb.so.1]=libxcb-xkb1
    [libxcb.so.1]=libxcb1
    [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
    [libxkbcommon.so.0]=libxkbcommon0
)
checked=(
    Qt/plugins/platforms/libqxcb.so
    Qt/plugins/platforms/libqoffscreen.so
    Qt/lib/libQt6XcbQpa.so.6
    Qt/lib/libQt6Gui.so.6
    Qt/lib/libQt6Widgets.so.6
    Qt/lib/libQt6Core.so.6
    Qt/lib/libQt6DBus.so.6
    QtCore.abi3.so
    QtGui.abi3.so
    QtWidgets.abi3.so
)

if (($# != 1)); then
    echo "usage: $0 PYTHON (the console's venv python)" >&2
    exit 2
fi
command -v ldd >/dev/null 2>&1 || exit 0
pyside=$("$1" -c 'import importlib.util, os; spec = importlib.util.find_spec("PySide6")
print(os.path.dirname(spec.origin) if spec and spec.origin else "")')
[[ -n "$pyside" ]] || exit 0

missing=$(
    for file in "${checked[@]}"; do
        if [[ -e "$pyside/$file" ]]; then
            ldd "$pyside/$file" 2>/dev/null || true
        fi
    done | awk '$2 == "=>" && $3 == "not" && $4 == "found" { print $1 }' | sort -u
)
[[ -n "$missing" ]] || exit 0

packages=()
unknown=()
for soname in $missing; do
    if [[ -n "${package_of[$soname]:-}" ]]; then
        packages+=("${package_of[$soname]}")
    else
        unknown+=("$soname")
    fi
done
if ((${#packages[@]})); then
    mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
    echo "make: the console needs these system libraries: sudo apt-get install ${packages[*]}" >&2
fi
if ((${#unknown[@]})); then
    echo "make: and these, from packages this check does not know: ${unknown[*]}" \
        "(Debian: apt-file search NAME)" >&2
fi
exit 1
