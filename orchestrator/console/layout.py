"""The graph of a state machine, laid out for drawing: boxes for states, nested boxes for Parallel
branches and Map item processors, and polyline edges.

Why here and not a JavaScript library in the page: a compiled workflow is nested (chains of
states, Parallel states holding branches that hold chains), and a 1,000-task execution must draw
in under a second. Each (sub-)machine is a small layered graph of its own, laid out Sugiyama-style
— ranks by longest path, dummy points on edges that span ranks, barycentric ordering to cut
crossings, rows centred on their neighbours — and a Parallel or Map is sized from its contents
bottom-up, so the work is linear in the states rather than a global layout of the flattened
graph. The page then only draws rectangles at given coordinates; the layout of a definition is
cached (it never changes).

Catch edges into a state that many states catch to (the compiled "Describe failure" alert path)
are not drawn one by one: the target is noted on each source instead (``catches``), so a
1,000-task graph is not a fan of 1,000 dashed lines.

    >>> graph = layout({"StartAt": "a", "States": {"a": {"Type": "Pass", "Next": "b"},
    ...                                            "b": {"Type": "Succeed"}}})
    >>> [(n["id"], n["y"] < 100) for n in graph["nodes"]], graph["edges"][0]["source"]
    ([('a', True), ('b', True)], 'a')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

NODE_H = 34
MIN_W, MAX_W, CHAR_W = 96, 240, 7
GAP_X, GAP_Y = 24, 36
PAD, HEADER = 12, 24
DUMMY_W = 12
# More catch edges than this into one state are folded into a note on each source.
MAX_DRAWN_CATCHES = 3
SWEEPS = 4


@dataclass(slots=True)
class _Box:
    """A laid-out (sub-)machine: nodes and edges relative to its top-left corner."""

    width: float
    height: float
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)


def _successors(state: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(target, kind) of every transition out of a state, in the order AWS's console draws them."""
    out: list[tuple[str, str]] = []
    for choice in state.get("Choices") or ():
        if isinstance(choice, Mapping) and isinstance(choice.get("Next"), str):
            out.append((choice["Next"], "choice"))
    if isinstance(state.get("Default"), str):
        out.append((state["Default"], "default"))
    if isinstance(state.get("Next"), str):
        out.append((state["Next"], "next"))
    for catcher in state.get("Catch") or ():
        if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
            out.append((catcher["Next"], "catch"))
    return out


def _inner(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if state.get("Type") == "Parallel":
        return [b for b in state.get("Branches") or () if isinstance(b, Mapping)]
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if isinstance(processor, Mapping) else []
    return []


def _leaf_width(name: str) -> float:
    return float(min(MAX_W, max(MIN_W, len(name) * CHAR_W + 24)))


def _machine(machine: Mapping[str, Any], depth: int) -> _Box:
    states: Mapping[str, Any] = machine.get("States") or {}
    names = [n for n in states if isinstance(states[n], Mapping)]
    if not names:
        return _Box(width=MIN_W, height=NODE_H)
    start = machine.get("StartAt") if machine.get("StartAt") in states else names[0]
    succ = {n: [(t, k) for t, k in _successors(states[n]) if t in states] for n in names}

    # Discovery order (breadth first from StartAt, then whatever is unreachable).
    order: list[str] = []
    seen: set[str] = set()
    queue = [str(start)]
    for root in [str(start), *names]:
        if root in seen:
            continue
        queue = [root]
        seen.add(root)
        while queue:
            node = queue.pop(0)
            order.append(node)
            for target, _ in succ[node]:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)

    # Back edges (loops) found by an iterative depth-first search, so deep chains do not recurse.
    back: set[tuple[str, str]] = set()
    colour: dict[str, int] = {}
    for root in order:
        if root in colour:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        colour[root] = 1
        while stack:
            node, index = stack[-1]
            if index < len(succ[node]):
                stack[-1] = (node, index + 1)
                target = succ[node][index][0]
                if colour.get(target) == 1:
                    back.add((node, target))
                elif target not in colour:
                    colour[target] = 1
                    stack.append((target, 0))
            else:
                colour[node] = 2
                stack.pop()

    catch_sources: dict[str, int] = {}
    for n in names:
        for target, kind in succ[n]:
            if kind == "catch":
                catch_sources[target] = catch_sources.get(target, 0) + 1
    folded = {t for t, count in catch_sources.items() if count > MAX_DRAWN_CATCHES}

    # Ranks: longest path over forward edges, in topological order.
    indegree = dict.fromkeys(names, 0)
    for n in names:
        for target, _ in succ[n]:
            if (n, target) not in back:
                indegree[target] += 1
    rank = dict.fromkeys(names, 0)
    ready = [n for n in order if indegree[n] == 0]
    while ready:
        node = ready.pop()
        for target, _ in succ[node]:
            if (node, target) in back:
                continue
            rank[target] = max(rank[target], rank[node] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)

    # Boxes: leaves sized by their name, containers by their laid-out contents.
    inner_boxes: dict[str, list[_Box]] = {}
    size: dict[str, tuple[float, float]] = {}
    for n in names:
        inner = _inner(states[n])
        if inner:
            boxes = [_machine(b, depth + 1) for b in inner]
            inner_boxes[n] = boxes
            width = sum(b.width for b in boxes) + GAP_X * (len(boxes) - 1) + 2 * PAD
            height = max(b.height for b in boxes) + HEADER + PAD
            size[n] = (max(width, _leaf_width(n)), height)
        else:
            size[n] = (_leaf_width(n), float(NODE_H))

    # Layers with dummy points on drawn edges that span more than one rank.
    layers: dict[int, list[str]] = {}
    for n in order:
        layers.setdefault(rank[n], []).append(n)
    dummy_width: dict[str, float] = {}
    neighbours_up: dict[str, list[str]] = {n: [] for n in names}
    neighbours_down: dict[str, list[str]] = {n: [] for n in names}
    routes: list[tuple[str, str, str, list[str]]] = []
    for n in order:
        for target, kind in succ[n]:
            if kind == "catch" and target in folded:
                continue
            if (n, target) in back:
                routes.append((n, target, kind, []))
                continue
            chain = [n]
            for r in range(rank[n] + 1, rank[target]):
                dummy = f"\0{n}\0{target}\0{r}"
                dummy_width[dummy] = DUMMY_W
                layers.setdefault(r, []).append(dummy)
                neighbours_up[dummy], neighbours_down[dummy] = [], []
                chain.append(dummy)
            chain.append(target)
            for a, b in zip(chain, chain[1:], strict=False):
                neighbours_down[a].append(b)
                neighbours_up[b].append(a)
            routes.append((n, target, kind, chain[1:-1]))

    def width_of(node: str) -> float:
        return dummy_width.get(node) or size[node][0]

    ranks = sorted(layers)
    position: dict[str, float] = {}
    for r in ranks:
        for i, node in enumerate(layers[r]):
            position[node] = float(i)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        for r in ranks if downward else reversed(ranks):
            related = neighbours_up if downward else neighbours_down
            row = layers[r]

            def barycentre(node: str, related: dict[str, list[str]] = related) -> float:
                linked = related[node]
                return sum(position[x] for x in linked) / len(linked) if linked else position[node]
            row.sort(key=barycentre)
            for i, node in enumerate(row):
                position[node] = float(i)

    # x: each row pulled towards its neighbours' centres, then pushed apart; a pass down, a pass up.
    centre: dict[str, float] = {}
    for r in ranks:
        x = 0.0
        for node in layers[r]:
            centre[node] = x + width_of(node) / 2
            x += width_of(node) + GAP_X
    for sweep in range(2):
        related = neighbours_up if sweep == 0 else neighbours_down
        for r in ranks if sweep == 0 else reversed(ranks):
            row = layers[r]
            wanted = [sum(centre[x] for x in related[n]) / len(related[n]) if related[n] else centre[n] for n in row]
            placed: list[float] = []
            for i, node in enumerate(row):
                low = placed[-1] + (width_of(row[i - 1]) + width_of(node)) / 2 + GAP_X if placed else -1e18
                placed.append(max(wanted[i], low))
            # Shift the row back so it sits on its neighbours on average, not only to their right.
            shift = sum(w - p for w, p in zip(wanted, placed, strict=True)) / len(row)
            for node, value in zip(row, placed, strict=True):
                centre[node] = value + shift
    left = min(centre[n] - width_of(n) / 2 for r in ranks for n in layers[r])
    top: dict[int, float] = {}
    y = 0.0
    for r in ranks:
        top[r] = y
        y += max((size[n][1] for n in layers[r] if n in size), default=NODE_H) + GAP_Y
    height = y - GAP_Y
    width = max(centre[n] + width_of(n) / 2 for r in ranks for n in layers[r]) - left

    box = _Box(width=width, height=height)
    rank_of_dummy = {d: int(d.rsplit("\0", 1)[1]) for d in dummy_width}
    for n in names:
        w, h = size[n]
        x0 = centre[n] - w / 2 - left
        y0 = top[rank[n]]
        state = states[n]
        item: dict[str, Any] = {"id": n, "name": n, "type": str(state.get("Type", "")), "x": round(x0, 1),
                                "y": round(y0, 1), "w": round(w, 1), "h": round(h, 1), "depth": depth}
        if state.get("Type") == "Task":
            item["resource"] = str(state.get("Resource", ""))
        catches = [t for t, k in succ[n] if k == "catch" and t in folded]
        if catches:
            item["catches"] = catches
        if n in inner_boxes:
            item["container"] = True
        box.nodes.append(item)
        if n in inner_boxes:
            inner_x = x0 + (w - (sum(b.width for b in inner_boxes[n]) + GAP_X * (len(inner_boxes[n]) - 1))) / 2
            for child in inner_boxes[n]:
                _place(box, child, inner_x, y0 + HEADER, parent=n)
                inner_x += child.width + GAP_X
    for source, target, kind, dummies in routes:
        sw, sh = size[source]
        tw = size[target][0]
        sx, sy = centre[source] - left, top[rank[source]] + sh
        tx, ty = centre[target] - left, top[rank[target]]
        if (source, target) in back:
            # A loop goes out to the right of both states and back up.
            out = max(sx + sw / 2, tx + tw / 2) + GAP_X / 2
            points = [[sx + sw / 2, sy - sh / 2], [out, sy - sh / 2], [out, ty + NODE_H / 2], [tx + tw / 2, ty + NODE_H / 2]]
        else:
            points = [[sx, sy]]
            for dummy in dummies:
                r = rank_of_dummy[dummy]
                points.append([centre[dummy] - left, top[r]])
                points.append([centre[dummy] - left, top[r] + NODE_H])
            points.append([tx, ty])
        box.edges.append({"source": source, "target": target, "kind": kind,
                          "points": [[round(px, 1), round(py, 1)] for px, py in points]})
    return box


def _place(into: _Box, child: _Box, dx: float, dy: float, *, parent: str) -> None:
    for node in child.nodes:
        moved = dict(node, x=round(node["x"] + dx, 1), y=round(node["y"] + dy, 1))
        moved.setdefault("parent", parent)
        into.nodes.append(moved)
    for edge in child.edges:
        into.edges.append(dict(edge, points=[[round(x + dx, 1), round(y + dy, 1)] for x, y in edge["points"]]))


def layout(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Nodes (``id``, ``type``, ``x``, ``y``, ``w``, ``h``, ``parent``) and edges (``points``) of a
    definition, in pixels from the top-left corner; containers come before what they hold."""
    box = _machine(definition, 0)
    return {"width": round(box.width, 1), "height": round(box.height, 1), "nodes": box.nodes, "edges": box.edges}


@lru_cache(maxsize=64)
def layout_text(definition_json: str) -> dict[str, Any]:
    """:func:`layout` of a definition given as its JSON text, cached: a definition never changes."""
    import json

    return layout(json.loads(definition_json))
