"""The server-side layout of a state machine's graph (orchestrator.console.layout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.console.layout import MAX_DRAWN_CATCHES, layout

ROOT = Path(__file__).resolve().parent.parent


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def _inside(inner: dict[str, Any], outer: dict[str, Any]) -> bool:
    return (outer["x"] <= inner["x"] and inner["x"] + inner["w"] <= outer["x"] + outer["w"]
            and outer["y"] <= inner["y"] and inner["y"] + inner["h"] <= outer["y"] + outer["h"])


def check_sound(graph: dict[str, Any]) -> None:
    """No two boxes overlap unless one holds the other; every child lies inside its parent."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    ancestors: dict[str, set[str]] = {}
    for n in graph["nodes"]:
        chain, parent = set(), n.get("parent")
        while parent is not None:
            chain.add(parent)
            parent = nodes[parent].get("parent")
        ancestors[n["id"]] = chain
        if n.get("parent"):
            assert _inside(n, nodes[n["parent"]]), n["id"]
        assert n["x"] >= 0 and n["x"] + n["w"] <= graph["width"] + 0.5 and n["y"] + n["h"] <= graph["height"] + 0.5
    items = list(nodes.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if a["id"] in ancestors[b["id"]] or b["id"] in ancestors[a["id"]]:
                continue
            assert not _overlap(a, b), (a["id"], b["id"])


def test_a_chain_is_drawn_top_to_bottom() -> None:
    graph = layout({"StartAt": "a", "States": {"a": {"Type": "Pass", "Next": "b"}, "b": {"Type": "Pass", "Next": "c"},
                                               "c": {"Type": "Succeed"}}})
    ys = [n["y"] for n in graph["nodes"]]
    assert ys == sorted(ys) and len(set(ys)) == 3
    assert [(e["source"], e["target"]) for e in graph["edges"]] == [("a", "b"), ("b", "c")]
    check_sound(graph)


def test_parallel_branches_sit_side_by_side_inside_their_state() -> None:
    graph = layout({"StartAt": "p", "States": {"p": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "x", "States": {"x": {"Type": "Pass", "Next": "y"}, "y": {"Type": "Pass", "End": True}}},
        {"StartAt": "z", "States": {"z": {"Type": "Pass", "End": True}}}]}}})
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["p"]["container"] is True
    assert nodes["x"]["parent"] == "p" and nodes["z"]["parent"] == "p"
    assert nodes["x"]["y"] == nodes["z"]["y"] and nodes["x"]["x"] < nodes["z"]["x"]
    check_sound(graph)


def test_a_loop_is_routed_around_and_does_not_break_ranking() -> None:
    graph = layout({"StartAt": "poll", "States": {
        "poll": {"Type": "Task", "Resource": "r", "Next": "done?"},
        "done?": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "end"}],
                  "Default": "wait"},
        "wait": {"Type": "Wait", "Seconds": 5, "Next": "poll"},
        "end": {"Type": "Succeed"}}})
    kinds = {(e["source"], e["target"]): e["kind"] for e in graph["edges"]}
    assert kinds == {("poll", "done?"): "next", ("done?", "end"): "choice", ("done?", "wait"): "default",
                     ("wait", "poll"): "next"}
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["poll"]["y"] < nodes["done?"]["y"] < nodes["wait"]["y"]
    check_sound(graph)


def test_many_catches_into_one_state_are_folded_into_notes() -> None:
    states: dict[str, Any] = {f"t{i}": {"Type": "Task", "Resource": "r", "Next": f"t{i + 1}",
                                        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "alert"}]} for i in range(5)}
    states["t5"] = {"Type": "Succeed"}
    states["alert"] = {"Type": "Fail"}
    graph = layout({"StartAt": "t0", "States": states})
    assert MAX_DRAWN_CATCHES < 5
    assert not [e for e in graph["edges"] if e["kind"] == "catch"]
    assert all(n.get("catches") == ["alert"] for n in graph["nodes"] if n["id"].startswith("t") and n["id"] != "t5")


def test_a_long_edge_bends_around_the_states_it_passes() -> None:
    graph = layout({"StartAt": "a", "States": {
        "a": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "d"}], "Default": "b"},
        "b": {"Type": "Pass", "Next": "c"}, "c": {"Type": "Pass", "Next": "d"}, "d": {"Type": "Succeed"}}})
    (long_edge,) = [e for e in graph["edges"] if (e["source"], e["target"]) == ("a", "d")]
    assert len(long_edge["points"]) == 6  # start, two points per intermediate rank, end
    nodes = {n["id"]: n for n in graph["nodes"]}
    for x, y in long_edge["points"][1:-1]:
        for name in ("b", "c"):
            n = nodes[name]
            assert not (n["x"] < x < n["x"] + n["w"] and n["y"] < y < n["y"] + n["h"])
    check_sound(graph)


def test_every_example_lays_out_soundly() -> None:
    for path in sorted((ROOT / "state_machines").glob("*.asl.json")):
        definition = json.loads(path.read_text())
        graph = layout(definition)
        check_sound(graph)
        assert {n["id"] for n in graph["nodes"]} >= set(definition["States"])


def test_a_map_holds_its_item_processor() -> None:
    graph = layout({"StartAt": "each", "States": {
        "each": {"Type": "Map", "Next": "done", "ItemProcessor": {"StartAt": "fetch", "States": {
            "fetch": {"Type": "Task", "Resource": "r", "Next": "store"},
            "store": {"Type": "Task", "Resource": "r", "End": True}}}},
        "done": {"Type": "Succeed"}}})
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["each"]["container"] is True and nodes["fetch"]["parent"] == "each"
    assert nodes["fetch"]["y"] < nodes["store"]["y"] < nodes["done"]["y"]
    assert nodes["fetch"]["resource"] == "r"
    check_sound(graph)
