"""The house rules the import-linter contracts cannot say: no import loop between any two modules."""

from __future__ import annotations

import pytest


def test_no_module_of_gpuplanner_imports_itself_back():
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the test extra)")
    graph = grimp.build_graph("gpuplanner", cache_dir=None)  # typing-only imports included
    loops = sorted(
        f"{a} -> {b} -> … -> {a}"
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if b in graph.modules and graph.find_shortest_chain(importer=b, imported=a)
    )
    assert not loops, "import loops:\n" + "\n".join(loops)
