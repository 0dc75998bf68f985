"""The rig drawn as Qt scene items, shared by the window (``gpuplanner.gui``) and the PDF
(``gpuplanner.export``): ``scene`` (``RackScene`` and ``Selection``), ``gpu_item``, ``node_item``,
``link_item``, ``geometry`` (slot sizes, arrangement), ``style`` (palette, link colours), ``labels``
(display names and tooltips of catalog ids), ``fonts`` (the bundled fonts).

Graphics items and painting only: no widgets, no windows, nothing that pushes an undo command.
"""
