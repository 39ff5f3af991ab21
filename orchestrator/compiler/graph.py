"""Mermaid and Graphviz text for a workflow's DAG and for its compiled structure.

The DAG view shows tasks and their ``after`` edges; the compiled view shows states, ``Next``
edges (solid), ``Catch`` edges (dashed) and each Parallel as a box of branch boxes, so the
waiting the series-parallel decomposition added is visible next to the DAG.

    >>> from orchestrator import model

Format = Literal["mermaid", "dot"]
    >>> wf = model.Workflow(name="wf", tasks=(
    ...     model.Task(name="a", job=model.LambdaTask(handler="m:f")),
    ...     model.Task(name="b", job=model.LambdaTask(handler="m:f"), after=("a",))))
    >>> print(dag_mermaid(wf))
    flowchart TD
      n0["a"]
      n1["b"]
      n0 --> n1
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from orchestrator import model

Format = Literal["mermaid", "dot"]


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def _dot_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _task_kind(task: model.Task) -> str:
    return task.runs_on


def dag_mermaid(wf: model.Workflow) -> str:
    ids = {t.name: f"n{i}" for i, t in enumerate(wf.tasks)}
    lines = ["flowchart TD"]
    lines += [f'  {ids[t.name]}["{_label(t.name)}"]' for t in wf.tasks]
    lines += [f"  {ids[dep]} --> {ids[t.name]}" for t in wf.tasks for dep in t.after if dep in ids]
    return "\n".join(lines)


def dag_dot(wf: model.Workflow) -> str:
    """Graphviz ``digraph``; Batch tasks are boxes, Lambda tasks ellipses."""
    lines = [f"digraph {_dot_str(wf.name)} {{", "  rankdir=TB;"]
    for t in wf.tasks:
        shape = "box" if _task_kind(t) == "batch" else "ellipse"
        lines.append(f"  {_dot_str(t.name)} [shape={shape}];")
    for t in wf.tasks:
        lines += [f"  {_dot_str(dep)} -> {_dot_str(t.name)};" for dep in t.after]
    lines.append("}")
    return "\n".join(lines)


class _Ids:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = f"s{len(self.ids)}"
        return self.ids[name]


def _edges(states: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    for name, state in states.items():
        if "Next" in state:
            yield name, state["Next"], False
        for catcher in state.get("Catch", ()):
            yield name, catcher["Next"], True


def asl_mermaid(definition: Mapping[str, Any]) -> str:
    """The compiled structure of one state machine as a Mermaid flowchart."""
    ids = _Ids()
    lines = ["flowchart TD"]
    counter = [0]

    def graph(g: Mapping[str, Any], indent: str) -> None:
        for name, state in g["States"].items():
            if state["Type"] == "Parallel":
                lines.append(f'{indent}subgraph {ids(name)}["{_label(name)}"]')
                for branch in state["Branches"]:
                    counter[0] += 1
                    lines.append(f'{indent}  subgraph b{counter[0]}[" "]')
                    graph(branch, indent + "    ")
                    lines.append(f"{indent}  end")
                lines.append(f"{indent}end")
            elif state["Type"] == "Fail":
                lines.append(f'{indent}{ids(name)}(["{_label(name)}"])')
            else:
                lines.append(f'{indent}{ids(name)}["{_label(name)}"]')
        for src, dst, caught in _edges(g["States"]):
            arrow = "-.->" if caught else "-->"
            lines.append(f"{indent}{ids(src)} {arrow} {ids(dst)}")

    graph(definition, "  ")
    return "\n".join(lines)


def asl_dot(definition: Mapping[str, Any], name: str = "state_machine") -> str:
    """The compiled structure as a Graphviz ``digraph`` (Parallels as clusters)."""
    ids = _Ids()
    lines = [f"digraph {_dot_str(name)} {{", "  compound=true;"]
    counter = [0]

    def graph(g: Mapping[str, Any], indent: str) -> None:
        for state_name, state in g["States"].items():
            if state["Type"] == "Parallel":
                counter[0] += 1
                lines.append(f"{indent}subgraph cluster_{counter[0]} {{ label={_dot_str(state_name)};")
                lines.append(f'{indent}  {ids(state_name)} [shape=point, label=""];')
                for branch in state["Branches"]:
                    counter[0] += 1
                    lines.append(f'{indent}  subgraph cluster_{counter[0]} {{ label="";')
                    graph(branch, indent + "    ")
                    lines.append(f"{indent}  }}")
                lines.append(f"{indent}}}")
            else:
                shape = "octagon" if state["Type"] == "Fail" else "box"
                lines.append(f"{indent}{ids(state_name)} [shape={shape}, label={_dot_str(state_name)}];")
        for src, dst, caught in _edges(g["States"]):
            style = " [style=dashed]" if caught else ""
            lines.append(f"{indent}{ids(src)} -> {ids(dst)}{style};")

    graph(definition, "  ")
    lines.append("}")
    return "\n".join(lines)


def render_dag(wf: model.Workflow, fmt: Format = "mermaid") -> str:
    """The DAG as Mermaid or dot (``orchestrator graph``)."""
    return dag_mermaid(wf) if fmt == "mermaid" else dag_dot(wf)


def render_compiled(wf: model.Workflow, fmt: Format = "mermaid") -> str:
    """The compiled structure of every machine of ``wf``, main first (``orchestrator graph
    --compiled``); a split workflow prints one diagram per machine, each headed by its name."""
    from orchestrator.compiler import compile_workflow

    result = compile_workflow(wf)
    parts = []
    for name, definition in result.definitions.items():
        text = asl_mermaid(definition) if fmt == "mermaid" else asl_dot(definition, name)
        if len(result.definitions) > 1:
            comment = "%%" if fmt == "mermaid" else "//"
            text = f"{comment} {name}\n{text}"
        parts.append(text)
    return "\n\n".join(parts)
