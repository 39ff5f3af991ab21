"""What the compiler's passes need of the interpreter while they run, restored on the way out.

Both are wanted by the whole compile (``compile_workflow``) and by ``decompose`` when it is called
on its own; nested, the inner one changes nothing.

    >>> import gc, sys
    >>> before = sys.getrecursionlimit()
    >>> with paused_gc(), recursion_limit(before + 500):
    ...     gc.isenabled(), sys.getrecursionlimit() - before
    (False, 500)
    >>> gc.isenabled(), sys.getrecursionlimit() == before
    (True, True)
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector. Compiling 10,000 tasks allocates millions of dicts,
    lists and nodes that all stay alive until the end, so its full passes find nothing to free
    yet cost a fifth to a third of the time; the compiler makes no reference cycles that need it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def recursion_limit(at_least: int) -> Iterator[None]:
    """Lift the recursion limit to ``at_least`` (never lower it). The passes recurse once per
    nesting level and the search once per task of a chain; Python 3.11 frames are cheap (no C
    stack per Python call), so the default 1,000 is only a guard."""
    old = sys.getrecursionlimit()
    if at_least > old:
        sys.setrecursionlimit(at_least)
    try:
        yield
    finally:
        if at_least > old:
            sys.setrecursionlimit(old)
