"""Change descriptions between two JSON documents, with JSON Pointer paths (RFC 6901).

    diff(old, new) -> [{"op": "added"|"changed"|"removed", "path": "/a/0", "old": .., "new": ..}]
    apply(old, changes) == new   (for every pair of JSON documents; property-tested)

Objects are compared key by key; arrays position by position (a longer array adds its
tail, a shorter one removes it, from the last index down so the changes apply in
order); anything else that differs is "changed" with both values. A removed or added
subtree is one change carrying the whole subtree. Values differ when their JSON types
differ (`true` is not `1`) or their values do (`1` and `1.0` are the same number).

Why our own and not `jsonpatch` or `deepdiff`: a change description needs the old value
of every removed and changed path, which RFC 6902 patches (`jsonpatch.make_patch`) drop,
and jsonpatch may emit `move`/`copy`; deepdiff's paths are Python expressions, not JSON
pointers, and it is a large dependency for sixty lines.
"""

from __future__ import annotations

ADDED, CHANGED, REMOVED = "added", "changed", "removed"


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def same(a, b) -> bool:
    """JSON equality: same type at every level, numbers by value."""
    kind = json_type(a)
    if kind != json_type(b):
        return False
    if kind == "object":
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def diff(old, new, path: str = "") -> list[dict]:
    changes: list[dict] = []
    _diff(old, new, path, changes)
    return changes


def _diff(old, new, path: str, out: list) -> None:
    kind = json_type(old)
    if kind != json_type(new):
        out.append({"op": CHANGED, "path": path, "old": old, "new": new})
        return
    if kind == "object":
        for key in sorted(old.keys() - new.keys()):
            out.append({"op": REMOVED, "path": f"{path}/{escape(key)}", "old": old[key]})
        for key in sorted(old.keys() & new.keys()):
            _diff(old[key], new[key], f"{path}/{escape(key)}", out)
        for key in sorted(new.keys() - old.keys()):
            out.append({"op": ADDED, "path": f"{path}/{escape(key)}", "new": new[key]})
        return
    if kind == "array":
        common = min(len(old), len(new))
        for i in range(common):
            _diff(old[i], new[i], f"{path}/{i}", out)
        for i in range(len(old) - 1, common - 1, -1):
            out.append({"op": REMOVED, "path": f"{path}/{i}", "old": old[i]})
        for i in range(common, len(new)):
            out.append({"op": ADDED, "path": f"{path}/{i}", "new": new[i]})
        return
    if not same(old, new):
        out.append({"op": CHANGED, "path": path, "old": old, "new": new})


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"not a JSON pointer: {path!r}")
    return [unescape(t) for t in path[1:].split("/")]


def _container(doc, tokens: list[str]):
    for token in tokens:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def apply(doc, changes: list[dict]):
    """`doc` with `changes` applied in order (a new document; `doc` is not modified)."""
    import copy

    doc = copy.deepcopy(doc)
    for change in changes:
        tokens = _tokens(change["path"])
        if not tokens:
            doc = copy.deepcopy(change.get("new"))
            continue
        parent = _container(doc, tokens[:-1])
        last = tokens[-1]
        if change["op"] == REMOVED:
            del parent[int(last) if isinstance(parent, list) else last]
        elif isinstance(parent, list) and change["op"] == ADDED:
            parent.insert(int(last), copy.deepcopy(change["new"]))
        else:
            parent[int(last) if isinstance(parent, list) else last] = copy.deepcopy(change["new"])
    return doc


def get(doc, path: str):
    """The value at `path` (KeyError/IndexError when absent)."""
    return _container(doc, _tokens(path))
