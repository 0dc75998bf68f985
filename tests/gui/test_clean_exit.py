"""The process exits cleanly after copying to the clipboard (Qt would otherwise delete our QMimeData
from its own exit handler, after Python has shut down, and crash)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from gpuplanner.app import create_main_window
from gpuplanner.drawing.scene import Selection
w = create_main_window(None)
node = w.document.plan.rig.nodes[0].id
w.select(Selection(nodes=(node,)))
assert w.copy_selection()
w.undo_stack.setClean()
w.close()
print("copied")
"""


def test_exit_after_copy_does_not_crash(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GPUPLANNER_USER_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "copied" in done.stdout
