"""The PDF plan report (issue 6), shared by the window and the command line.

- :func:`gpuplanner.export.pdf.export_plan_pdf` writes it (A4 or US Letter, atomically);
- ``gpuplanner export PLAN -o PDF`` is :func:`gpuplanner.export.cli.main`;
- File ▸ Export PDF… (Ctrl+E) is :mod:`gpuplanner.gui.export_action`, handed this export by
  :mod:`gpuplanner.app` (the window and the export do not import each other).

Qt-free: ``formats``, ``content``, ``sections``, ``layermap``, ``sources``, ``references`` (what the pages
say). Qt: ``theme``, ``flow``, ``table``, ``layout`` (type and pagination), ``drawing``, ``charts``,
``curve`` (charts as vectors), ``rig`` (the rack scene of ``gpuplanner.drawing`` on paper), ``pages`` (the order).
"""
