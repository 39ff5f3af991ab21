"""Mermaid and Graphviz views of the DAG and of the compiled structure."""

from __future__ import annotations

from compiler_support import batch, lam

from orchestrator import model
from orchestrator.compiler import compile_workflow, graph

WF = model.Workflow(name="g", tasks=(batch("a"), lam("b", ("a",)), lam("c", ("a",)), batch("d", ("b", "c"))))


def test_dag_mermaid_lists_tasks_and_edges() -> None:
    text = graph.dag_mermaid(WF)
    assert text.splitlines()[0] == "flowchart TD"
    assert '  n3["d"]' in text and "  n1 --> n3" in text and "  n2 --> n3" in text


def test_dag_dot_shapes_by_service() -> None:
    text = graph.dag_dot(WF)
    assert text.startswith('digraph "g" {') and text.endswith("}")
    assert '"a" [shape=box];' in text and '"b" [shape=ellipse];' in text and '"b" -> "d";' in text


def test_compiled_structure_shows_parallel_and_catches() -> None:
    definition = compile_workflow(WF).definitions["g"]
    mermaid = graph.asl_mermaid(definition)
    assert 'subgraph s3["Parallel 1"]' in mermaid
    assert "-.->" in mermaid  # Catch edges are dashed
    dot = graph.asl_dot(definition, "g")
    assert "subgraph cluster_1" in dot and "[style=dashed]" in dot
    assert graph.asl_mermaid(definition) == mermaid  # deterministic


def test_cli_entry_points() -> None:
    assert graph.render_dag(WF, fmt="dot") == graph.dag_dot(WF)
    assert graph.render_dag(WF) == graph.dag_mermaid(WF)
    assert graph.render_compiled(WF, fmt="mermaid") == graph.asl_mermaid(
        compile_workflow(WF).definitions["g"]
    )
    assert graph.render_compiled(WF, fmt="dot").startswith('digraph "g"')
