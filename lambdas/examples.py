"""Example Lambda handlers used by the workflows in ``state_machines/``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def disk_usage(event: Any, context: Any) -> dict[str, Any]:
    """Bytes and file counts under ``data/`` (or ``DATA_DIR``), largest directories first."""
    base = Path(os.environ.get("DATA_DIR", "data"))
    sizes: dict[str, int] = {}
    files = 0
    for path in base.rglob("*"):
        if path.is_file():
            files += 1
            parts = path.relative_to(base).parts
            top = parts[0] if len(parts) > 1 else "."
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    return {"files": files, "bytes": sum(sizes.values()), "largest": [{"dir": d, "bytes": b} for d, b in largest]}
