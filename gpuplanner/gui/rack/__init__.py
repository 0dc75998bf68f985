"""The rack canvas: servers, GPU cards and links drawn from the document (see ``scene.py``)."""
