"""Print every import cycle between modules of our apps (tests and migrations excluded).

import-linter's `acyclic_siblings` contract (in `make lint`) keeps each app acyclic; this
script shows the whole picture across apps, lazy imports inside functions included, as
strongly connected components of the module graph. Exit status 1 when a cycle exists.

    .venv/bin/python scripts/import_cycles.py
"""

import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def our_packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["root_packages"]


def cycles(graph) -> list[list[str]]:
    modules = sorted(m for m in graph.modules if ".tests" not in m and ".migrations" not in m)
    kept = set(modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & kept) for m in modules}
    # Tarjan's strongly connected components, iterative so deep graphs cannot overflow.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if child < len(edges[node]):
                work.append((node, child + 1))
                nxt = edges[node][child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*our_packages(), include_external_packages=False)
    found = cycles(graph)
    for component in found:
        print(f"cycle of {len(component)} modules: {', '.join(component)}")
    print(f"{len(found)} import cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
