"""Open a plan with the Launch dock raised and service-level targets set, for the README's screenshots.

usage: ../shared/tools/screenshot OUT.png --wait 12 --wm -- python docs/launch_screenshot.py PLAN TTFT_MS TPOT_MS [TAB]
TAB 0 shows the launch command, 1 the bill of materials and cost.
"""

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gpuplanner.app import create_main_window

app = QApplication.instance() or QApplication(sys.argv)
window = create_main_window(sys.argv[1])
window.show()
window.evaluate_now()
panel = window.launch_dock.panel
window.launch_dock.raise_()
panel.ttft.setValue(float(sys.argv[2]))
panel.tpot.setValue(float(sys.argv[3]))
panel.tabs.setCurrentIndex(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
window.resizeDocks([window.launch_dock], [620], Qt.Orientation.Horizontal)
window.resizeDocks([window.panel], [330], Qt.Orientation.Vertical)
sys.exit(app.exec())
