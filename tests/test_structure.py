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


def documented_modules(text: str) -> set[str]:
    """Paths of the modules and packages in docs/architecture.md's map, from the indentation."""
    block = text.split("```\ngpuplanner/\n", 1)[1].split("```", 1)[0]
    found, folders = set(), ["gpuplanner"]
    for line in block.splitlines():
        name = line.strip().split(" ", 1)[0]
        depth = (len(line) - len(line.lstrip())) // 2
        del folders[depth:]
        path = "/".join([*folders, name.rstrip("/")])
        found.add(path)
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
    return found


def test_the_architecture_page_lists_every_module_and_no_other():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    listed = documented_modules((root / "docs" / "architecture.md").read_text(encoding="utf-8"))
    package = root / "gpuplanner"
    files = {
        p.relative_to(root).as_posix() if p.name != "__init__.py" else p.parent.relative_to(root).as_posix()
        for p in package.rglob("*.py")
        if p.parent != package or p.name != "__init__.py"
    }
    assert sorted(files - listed) == [], "modules missing from docs/architecture.md"
    assert sorted(listed - files) == [], "docs/architecture.md lists modules that do not exist"
