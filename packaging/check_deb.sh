#!/usr/bin/env bash
# Install the .deb on a bare Debian 12 and start the app there.
#
#   sudo packaging/check_deb.sh [DEB]          (default: the newest packaging/dist/gpuplanner_*.deb)
#
# Needs root, debootstrap and Debian's mirror (apt-get install debootstrap). Steps:
#   1. a minimal bookworm (debootstrap --variant=minbase; made once, cached in $CACHE_DIR, copied fresh
#      for every check), with no fonts, no X, no Qt libraries;
#   2. apt-get install --no-install-recommends ./gpuplanner_*.deb  (apt resolves Depends);
#   3. no library of the app is "not found" (ldd over every ELF file in /opt/gpuplanner);
#   4. gpuplanner --selftest offscreen under `env -i` (the app must bring its own font); a picture of the
#      window it opened goes to packaging/dist/check-deb-window-offscreen.png;
#   5. the Recommends (shared-mime-info, desktop-file-utils): *.gpuplan maps to
#      application/x-gpuplanner-plan and that to gpuplanner.desktop (what a double-click uses);
#   6. Xvfb: gpuplanner --selftest on the real X11 (xcb) platform;
#   7. apt-get remove gpuplanner leaves no /opt/gpuplanner.
# A summary goes to packaging/dist/check-deb-report.txt. Exit status 0 only when every step passed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DEB=${1:-$(ls -t "$HERE"/dist/gpuplanner_*.deb 2>/dev/null | head -1)}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${CACHE_DIR:-/var/tmp/gpuplanner-debootstrap-$SUITE}
ROOT=${ROOT:-/var/tmp/gpuplanner-check-root}
REPORT=$HERE/dist/check-deb-report.txt

FAILED=0
die() { echo "check_deb: error: $*" >&2; echo "RESULT: FAILED ($*)" >>"$REPORT"; exit 1; }
say() { echo "check_deb: $*"; echo "$*" >>"$REPORT"; }

[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap and chroot need it)"
[[ -n $DEB && -f $DEB ]] || die "no .deb given and none in $HERE/dist; run packaging/build.sh first"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
mkdir -p "$(dirname "$REPORT")"
: >"$REPORT"

unmount_all() {
  for m in "$ROOT/proc" "$ROOT/dev/pts" "$ROOT/dev"; do
    mountpoint -q "$m" && umount -l "$m" || true
  done
}
trap unmount_all EXIT

# 1. A bare Debian, made once.
if [[ ! -x $CACHE_DIR/bin/sh ]]; then
  echo "check_deb: debootstrap $SUITE (minbase) into $CACHE_DIR (a few minutes, once)"
  rm -rf "$CACHE_DIR"
  debootstrap --variant=minbase "$SUITE" "$CACHE_DIR" "$MIRROR" >/dev/null
  chroot "$CACHE_DIR" apt-get clean
fi
unmount_all
rm -rf "$ROOT"
cp -a "$CACHE_DIR" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
cp "$DEB" "$ROOT/tmp/"
DEB_IN=/tmp/$(basename "$DEB")
in_root() { chroot "$ROOT" env -i LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

say "package: $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"
say "target: Debian $(cat "$ROOT/etc/debian_version") $SUITE minbase, $(in_root dpkg-query -W -f='.\n' | wc -l) packages"
say "fonts before install: $(in_root sh -c 'ls /usr/share/fonts 2>/dev/null | wc -l') font folders"

# 2. Install, letting apt resolve Depends (not Recommends: the barest machine that satisfies us).
in_root apt-get update -qq
before=$(in_root dpkg-query -W -f='${Package}\n' | sort)
start=$(date +%s)
in_root apt-get install -y -qq --no-install-recommends "$DEB_IN" >/tmp/check_deb_install.log 2>&1 ||
  { tail -20 /tmp/check_deb_install.log >&2; die "apt-get install failed"; }
after=$(in_root dpkg-query -W -f='${Package}\n' | sort)
added=$(comm -13 <(echo "$before") <(echo "$after") | wc -l)
say "install: ok in $(($(date +%s) - start)) s, apt added $added packages (gpuplanner and its Depends)"
in_root test -x /usr/bin/gpuplanner || die "/usr/bin/gpuplanner is missing after install"
say "fonts on the system after install: $(in_root sh -c 'command -v fc-list >/dev/null && fc-list | wc -l || echo 0')"

# 3. Every library resolves (with the search path the app's bootloader sets: its _internal folder).
missing=$(in_root env LD_LIBRARY_PATH=/opt/gpuplanner/_internal sh -c \
  'find /opt/gpuplanner -type f -name "*.so*" -exec ldd {} + 2>/dev/null | grep "not found" | sort -u' || true)
if [[ -n $missing ]]; then
  say "libraries: MISSING"; echo "$missing" | tee -a "$REPORT"
  die "some libraries of the app are not on the target: add their packages to Depends"
fi
say "libraries: every ELF file's dependencies resolve"

# 4. The self-test, offscreen, with an empty environment.
run_selftest() {  # $1: label, rest: extra env / command prefix
  local label=$1; shift
  local start rc=0
  start=$(date +%s.%N)
  in_root GPUPLANNER_SELFTEST_SCREENSHOT="/tmp/window-$label.png" "$@" gpuplanner --selftest \
    >"/tmp/check_deb_$label.log" 2>&1 || rc=$?
  cp "$ROOT/tmp/window-$label.png" "$HERE/dist/check-deb-window-$label.png" 2>/dev/null || true
  local took
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  sed "s/^/    /" "/tmp/check_deb_$label.log" | tee -a "$REPORT"
  if ((rc != 0)); then
    say "selftest ($label): FAILED with exit status $rc"
    FAILED=$((FAILED + 1))
    return 0
  fi
  say "selftest ($label): passed, exit 0, ${took} s wall"
}
run_selftest offscreen QT_QPA_PLATFORM=offscreen

# 5. The desktop side: with the Recommends the MIME type and the menu entry are registered.
in_root apt-get install -y -qq --no-install-recommends shared-mime-info desktop-file-utils >/dev/null 2>&1 ||
  die "could not install shared-mime-info desktop-file-utils"
glob=$(in_root sh -c 'grep -h "gpuplan" /usr/share/mime/globs2 || true')
handler=$(in_root sh -c 'grep -h "application/x-gpuplanner-plan" /usr/share/applications/mimeinfo.cache || true')
[[ $glob == *"application/x-gpuplanner-plan:*.gpuplan"* ]] || die "*.gpuplan is not registered in /usr/share/mime/globs2"
[[ $handler == *"gpuplanner.desktop"* ]] || die "gpuplanner.desktop does not handle application/x-gpuplanner-plan"
in_root desktop-file-validate /usr/share/applications/gpuplanner.desktop || die "the installed .desktop file is not valid"
say "desktop: globs2 '$glob'; mimeinfo.cache '$handler'; .desktop valid"

# 6. A real X server (Xvfb) and Qt's xcb platform: the Depends must be enough for a desktop session.
in_root apt-get install -y -qq --no-install-recommends xvfb xauth >/dev/null 2>&1 || die "could not install xvfb"
run_selftest xcb QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24"

# 7. Removal.
in_root apt-get remove -y -qq gpuplanner >/dev/null 2>&1 || die "apt-get remove gpuplanner failed"
in_root test ! -e /opt/gpuplanner || die "/opt/gpuplanner is still there after removal"
in_root sh -c '! grep -q gpuplan /usr/share/mime/globs2' || die "*.gpuplan is still registered after removal"
say "remove: ok, /opt/gpuplanner and the MIME type are gone"
((FAILED == 0)) || { say "RESULT: FAILED ($FAILED self-test runs failed)"; exit 1; }
say "RESULT: all checks passed"
