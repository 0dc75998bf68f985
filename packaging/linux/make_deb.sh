#!/usr/bin/env bash
# Make gpuplanner_<version>_<arch>.deb from the one-folder app that PyInstaller built.
#
#   packaging/linux/make_deb.sh [APP_DIR] [OUT_DIR]      (defaults: packaging/dist/gpuplanner, packaging/dist)
#   DEB_COMPRESS="-Zzstd -z9" packaging/linux/make_deb.sh   faster, larger package (default -Zxz)
#
# The package installs the app into /opt/gpuplanner, a launcher /usr/bin/gpuplanner, the menu entry, the
# hicolor icons (app and .gpuplan document) and the application/x-gpuplanner-plan MIME type, so that
# double-clicking a plan opens it. Depends: lists the system libraries the app loads but does not carry;
# the script checks that list against the ELF files it packs and stops if one is missing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
APP_DIR=${1:-$REPO/packaging/dist/gpuplanner}
OUT_DIR=${2:-$REPO/packaging/dist}
STAGE_ROOT=${DEB_WORK_DIR:-$REPO/packaging/build}/deb

die() { echo "make_deb: error: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (a Debian or Ubuntu machine builds the .deb)"
[[ -x $APP_DIR/gpuplanner ]] || die "$APP_DIR/gpuplanner not found; run packaging/build.sh first"

VERSION=$(sed -n 's/^__version__ *= *"\([^"]*\)".*/\1/p' "$REPO/gpuplanner/__init__.py")
[[ -n $VERSION ]] || die "no __version__ in gpuplanner/__init__.py"
ARCH=$(dpkg --print-architecture)

# Libraries Qt needs from the system. The app folder carries most of Qt's own dependencies, but these
# also bring their data (fontconfig's /etc/fonts, xkb-data's keyboard layouts) and keep the X11 and
# Wayland platforms working on a bare desktop install.
BASE_DEPENDS=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6 libglib2.0-0
  libdbus-1-3 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libx11-6 libx11-xcb1 libwayland-client0
  libwayland-cursor0 libwayland-egl1)
# Which package gives each system library the app links to without carrying it.
declare -A SONAME_PACKAGE=(
  [libEGL.so.1]=libegl1 [libGL.so.1]=libgl1 [libOpenGL.so.0]=libopengl0 [libGLX.so.0]=libglx0
  [libxcb.so.1]=libxcb1 [libxcb-icccm.so.4]=libxcb-icccm4 [libxcb-keysyms.so.1]=libxcb-keysyms1
  [libxcb-cursor.so.0]=libxcb-cursor0 [libxcb-image.so.0]=libxcb-image0 [libxcb-randr.so.0]=libxcb-randr0
  [libxcb-render-util.so.0]=libxcb-render-util0 [libxcb-shape.so.0]=libxcb-shape0
  [libxcb-xkb.so.1]=libxcb-xkb1 [libX11.so.6]=libx11-6 [libX11-xcb.so.1]=libx11-xcb1
  [libxkbcommon.so.0]=libxkbcommon0 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
  [libfontconfig.so.1]=libfontconfig1 [libfreetype.so.6]=libfreetype6 [libglib-2.0.so.0]=libglib2.0-0
  [libdbus-1.so.3]=libdbus-1-3 [libwayland-client.so.0]=libwayland-client0
  [libwayland-cursor.so.0]=libwayland-cursor0 [libwayland-egl.so.1]=libwayland-egl1
)

# 1. Check: every library an ELF file in the app needs is either in the app or covered by Depends.
if command -v readelf >/dev/null; then
  bundled=$(find "$APP_DIR" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)
  needed=$(find "$APP_DIR" -type f \( -name '*.so*' -o -name gpuplanner \) -exec readelf -d {} + 2>/dev/null |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
  missing=()
  for soname in $(comm -23 <(echo "$needed") <(echo "$bundled")); do
    case $soname in
      ld-linux*|libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libutil.so.*) continue ;;
    esac
    pkg=${SONAME_PACKAGE[$soname]:-}
    if [[ -z $pkg ]]; then
      missing+=("$soname")
    elif [[ " ${BASE_DEPENDS[*]} " != *" $pkg "* ]]; then
      BASE_DEPENDS+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) || die "the app needs ${missing[*]} from the system but no package for it is known;
  add it to SONAME_PACKAGE and BASE_DEPENDS in $0"
else
  echo "make_deb: readelf not found; Depends is not checked against the app's libraries" >&2
fi

# The newest glibc symbol version any binary asks for decides the libc6 the target needs.
LIBC_DEP=libc6
if command -v objdump >/dev/null; then
  glibc=$(find "$APP_DIR" -type f \( -name '*.so*' -o -name gpuplanner \) -exec objdump -T {} + 2>/dev/null |
    grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  [[ -n $glibc ]] && LIBC_DEP="libc6 (>= $glibc)"
fi
DEPENDS=$(printf '%s, ' "$LIBC_DEP" "${BASE_DEPENDS[@]}")
DEPENDS=${DEPENDS%, }

# 2. Lay out the package tree.
PKG=gpuplanner_${VERSION}_${ARCH}
STAGE=$STAGE_ROOT/$PKG
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/mime/packages" "$STAGE/usr/share/icons" "$STAGE/usr/share/doc/gpuplanner"
cp -a "$APP_DIR" "$STAGE/opt/gpuplanner"
cat >"$STAGE/usr/bin/gpuplanner" <<'LAUNCHER'
#!/bin/sh
# gpuplanner launcher: the app lives in /opt/gpuplanner (a PyInstaller one-folder build).
exec /opt/gpuplanner/gpuplanner "$@"
LAUNCHER
chmod 755 "$STAGE/usr/bin/gpuplanner"
install -m 644 "$HERE/gpuplanner.desktop" "$STAGE/usr/share/applications/gpuplanner.desktop"
install -m 644 "$HERE/gpuplanner-mime.xml" "$STAGE/usr/share/mime/packages/gpuplanner.xml"
cp -r "$REPO/resources/icons/hicolor" "$STAGE/usr/share/icons/hicolor"
{
  cat <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: gpuplanner

Files: *
Copyright: 2026 The gpuplanner authors
License: MIT

Files: opt/gpuplanner/_internal/resources/fonts/*
Copyright: 2003 Bitstream, Inc.; 2006 Tavmjong Bah; DejaVu changes are in the public domain
License: Bitstream-Vera and Arev (see /opt/gpuplanner/_internal/resources/fonts/LICENSE-DejaVu.txt)

Files: opt/gpuplanner/_internal/PySide6/* opt/gpuplanner/_internal/shiboken6/*
Copyright: The Qt Company Ltd. and other contributors
License: LGPL-3
 Qt and PySide6 are used as shared libraries under the LGPL-3; replace them in
 /opt/gpuplanner/_internal/PySide6/Qt/lib with compatible builds if you wish.
 On Debian systems the licence is in /usr/share/common-licenses/LGPL-3.

License: MIT
COPYRIGHT
  sed 's/^$/./; s/^/ /' "$REPO/LICENSE"
} >"$STAGE/usr/share/doc/gpuplanner/copyright"

INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: gpuplanner
Version: $VERSION
Architecture: $ARCH
Maintainer: The gpuplanner authors <gpuplanner@users.noreply.invalid>
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Recommends: fonts-dejavu-core, shared-mime-info, desktop-file-utils
Section: science
Priority: optional
Description: plan how a large language model runs on several GPUs
 gpuplanner lets you drag GPUs into servers, wire them with NVLink, NVSwitch,
 PCIe, InfiniBand or Ethernet, pick a model, precision and engine, and split
 the layers across the GPUs. It shows each GPU's memory budget and the
 expected speed, says what does not fit and why, saves .gpuplan files and
 exports a PDF report.
CONTROL
install -m 755 "$HERE/postinst" "$STAGE/DEBIAN/postinst"
install -m 755 "$HERE/postrm" "$STAGE/DEBIAN/postrm"

# Files 644 and folders 755, except what is executable; owned by root in the archive.
find "$STAGE" -type d -exec chmod 755 {} +
find "$STAGE/usr/share" -type f -exec chmod 644 {} +

# 3. Build it.
mkdir -p "$OUT_DIR"
DEB=$OUT_DIR/$PKG.deb
# xz: the smallest package, read by every dpkg (about 90 s here on 2 cores). DEB_COMPRESS="-Zzstd -z9"
# builds in about 8 s for a 20 % larger file (dpkg >= 1.21.18, i.e. Debian 12 / Ubuntu 21.10 and later).
# shellcheck disable=SC2086
dpkg-deb --root-owner-group ${DEB_COMPRESS:--Zxz} --build "$STAGE" "$DEB" >/dev/null
echo "make_deb: $DEB ($(du -h "$DEB" | cut -f1), installs $((INSTALLED_KB / 1024)) MiB)"
echo "make_deb: Depends: $DEPENDS"
