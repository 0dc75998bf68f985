#!/usr/bin/env bash
# Build the gpuplanner desktop app with one command.
#
#   packaging/build.sh                 build venv (if needed) -> one-folder app -> --selftest -> .deb
#   packaging/build.sh --no-deb        stop after the app folder (what Windows/macOS builders run)
#   packaging/build.sh --python PY     use this Python (it must have PyInstaller and the app's
#                                      dependencies) instead of the build venv
#   packaging/build.sh --no-selftest   do not run the frozen app's --selftest after building
#   packaging/build.sh --dist DIR --work DIR   put the outputs / work files elsewhere
#
# Outputs: packaging/dist/gpuplanner/ (the app folder; run packaging/dist/gpuplanner/gpuplanner),
# packaging/dist/gpuplanner_<version>_<arch>.deb, packaging/dist/build-report.txt (times and sizes).
# Work files go to packaging/build/. The build venv is packaging/.venv-build/ (made from pyproject.toml's
# dependencies plus its "package" extra; remade when pyproject.toml changes).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIST=$HERE/dist
WORK=$HERE/build
PYTHON=""
MAKE_DEB=1
SELFTEST=1

while (($#)); do
  case $1 in
    --python) PYTHON=$2; shift 2 ;;
    --no-deb) MAKE_DEB=0; shift ;;
    --no-selftest) SELFTEST=0; shift ;;
    --dist) DIST=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --work) WORK=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build.sh: $*"; }
seconds() { local t; t=$(date +%s.%N); [[ $t == *N ]] && t=$(date +%s); echo "$t"; }  # BSD date: no %N
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

# 1. A Python with PyInstaller and the app's dependencies.
if [[ -z $PYTHON ]]; then
  VENV=$HERE/.venv-build
  STAMP=$VENV/.installed
  if [[ ! -x $VENV/bin/python ]]; then
    say "creating the build venv $VENV"
    "${BASE_PYTHON:-python3}" -m venv "$VENV"
  fi
  if [[ ! -f $STAMP || $REPO/pyproject.toml -nt $STAMP ]]; then
    say "installing the app's dependencies and PyInstaller into the build venv"
    mkdir -p "$WORK"
    "$VENV/bin/python" - "$REPO/pyproject.toml" >"$WORK/build-requirements.txt" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["package"]))
PY
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$WORK/build-requirements.txt"
    touch "$STAMP"
  fi
  PYTHON=$VENV/bin/python
fi
"$PYTHON" -c "import PyInstaller, PySide6" 2>/dev/null ||
  { echo "build.sh: $PYTHON lacks PyInstaller or PySide6 (pip install -e '.[package]')" >&2; exit 1; }

# 2. Icons: the generated sizes are committed; make them only when they are missing.
if [[ ! -f $REPO/resources/icons/gpuplanner.ico || ! -f $REPO/resources/icons/hicolor/512x512/apps/gpuplanner.png ]]; then
  say "rendering icons"
  "$PYTHON" "$HERE/make_icons.py"
fi

# 3. The one-folder app.
say "running PyInstaller (log: $WORK/pyinstaller.log)"
mkdir -p "$WORK"
start=$(seconds)
if ! "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" \
  "$HERE/gpuplanner.spec" >"$WORK/pyinstaller.log" 2>&1; then
  tail -30 "$WORK/pyinstaller.log" >&2
  echo "build.sh: PyInstaller failed; the whole log is $WORK/pyinstaller.log" >&2
  exit 1
fi
BUILD_S=$(elapsed "$start")
APP=$DIST/gpuplanner
APP_MB=$(du -sm "$APP" | cut -f1)
say "app folder $APP: ${APP_MB} MiB, built in ${BUILD_S} s"

REPORT=$DIST/build-report.txt
{
  echo "gpuplanner build report ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -sm))"
  echo "pyinstaller_build_s: $BUILD_S"
  echo "app_folder: $APP"
  echo "app_folder_mib: $APP_MB"
} >"$REPORT"

# 4. The frozen app must pass its own self-test (offscreen, so it runs without a screen too).
if ((SELFTEST)) && [[ $(uname -s) == Linux ]]; then
  say "running the frozen app's --selftest"
  start=$(seconds)
  if ! QT_QPA_PLATFORM=offscreen "$APP/gpuplanner" --selftest | tee "$WORK/selftest.log"; then
    echo "build.sh: the frozen app failed its self-test (above)" >&2
    exit 1
  fi
  echo "selftest_wall_s: $(elapsed "$start")" >>"$REPORT"
fi

# 5. The Debian package.
if ((MAKE_DEB)) && [[ $(uname -s) == Linux ]]; then
  if command -v dpkg-deb >/dev/null; then
    start=$(seconds)
    DEB_WORK_DIR=$WORK "$HERE/linux/make_deb.sh" "$APP" "$DIST"
    DEB=$(ls -t "$DIST"/gpuplanner_*.deb | head -1)
    {
      echo "deb: $DEB"
      echo "deb_mib: $(awk -v b="$(stat -c %s "$DEB")" 'BEGIN { printf "%.1f", b / 1048576 }')"
      echo "deb_build_s: $(elapsed "$start")"
    } >>"$REPORT"
  else
    say "dpkg-deb not found: no .deb (the app folder is complete)"
  fi
fi

say "done; figures in $REPORT"
cat "$REPORT"
