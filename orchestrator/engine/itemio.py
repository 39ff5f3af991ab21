"""Distributed Map I/O on the local disk: ItemReader, ItemBatcher and ResultWriter.

S3 is modelled as a directory: ``s3://BUCKET/KEY`` is ``<ORCHESTRATOR_HOME or .orchestrator>/s3/
BUCKET/KEY``, so the same ASL reads and writes real files offline.

>>> local_path("bucket", "in/items.json").parts[-3:]
('bucket', 'in', 'items.json')
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.engine import dataflow
from orchestrator.engine.dataflow import RUNTIME, dumps
from orchestrator.engine.errors import StatesError

if TYPE_CHECKING:
    from orchestrator.engine.states import StateRun


def s3_root() -> Path:
    return Path(os.environ.get("ORCHESTRATOR_HOME", ".orchestrator")) / "s3"


def local_path(bucket: str, key: str) -> Path:
    root = s3_root().resolve()
    path = (root / bucket / key).resolve()
    if root not in path.parents:
        raise StatesError("S3.NoSuchKey", f"The key '{key}' escapes the bucket '{bucket}'")
    return path


def _arguments(run: StateRun, spec: Mapping[str, Any], effective: Any) -> dict[str, Any]:
    if run.jsonata:
        args = dataflow.jsonata_template(spec.get("Arguments", {}), run.bindings(), "Arguments")
    else:
        args = run.payload(spec.get("Parameters", {}), effective)
    if not isinstance(args, dict):
        raise StatesError(RUNTIME, f"The ItemReader parameters must be an object: {dumps(args)}")
    return args


def read_items(run: StateRun, reader: Mapping[str, Any], effective: Any) -> list[Any]:
    resource = reader.get("Resource", "")
    args = _arguments(run, reader, effective)
    config = reader.get("ReaderConfig", {})
    bucket = str(args.get("Bucket", ""))
    if resource.endswith("s3:listObjectsV2"):
        prefix = str(args.get("Prefix", ""))
        base = local_path(bucket, "")
        items: list[Any] = []
        if base.exists():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    stat = path.stat()
                    items.append({"Etag": f"\"{uuid.uuid5(uuid.NAMESPACE_URL, key).hex}\"", "Key": key,
                                  "LastModified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                                  "Size": stat.st_size, "StorageClass": "STANDARD"})
        return _limit(items, config)
    key = str(args.get("Key", ""))
    path = local_path(bucket, key)
    if not path.is_file():
        raise StatesError("States.ItemReaderFailed",
                          f"S3 object not found: s3://{bucket}/{key} (looked for {path})")
    text = path.read_text(encoding="utf-8")
    input_type = config.get("InputType", "JSON")
    if input_type == "JSON":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise StatesError("States.ItemReaderFailed", f"Invalid JSON in s3://{bucket}/{key}: {e}") from None
        if not isinstance(data, list):
            raise StatesError("States.ItemReaderFailed",
                              f"Attempting to map over non-iterable node in s3://{bucket}/{key}")
        return _limit(data, config)
    if input_type == "JSONL":
        return _limit([json.loads(line) for line in text.splitlines() if line.strip()], config)
    if input_type == "CSV":
        rows = list(csv.reader(io.StringIO(text), delimiter=config.get("CSVDelimiter", "COMMA") == "SEMICOLON"
                               and ";" or ","))
        if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
            headers = list(config.get("CSVHeaders", []))
        else:
            headers, rows = (rows[0], rows[1:]) if rows else ([], [])
        return _limit([dict(zip(headers, row, strict=False)) for row in rows], config)
    if input_type == "MANIFEST":
        return _limit(_inventory_items(bucket, key, text), config)
    raise StatesError(RUNTIME, f"Unsupported ItemReader InputType '{input_type}'")


def _inventory_items(bucket: str, key: str, text: str) -> list[Any]:
    """The rows of an S3 Inventory report, read through its ``manifest.json``.

    Each item is one inventory row keyed by the manifest's ``fileSchema`` columns, values as
    strings (``{"Bucket": …, "Key": …, "Size": "3399671", …}``); the data files live in the
    manifest's ``destinationBucket``, gzip-compressed when their key ends in ``.gz``. Step
    Functions reads CSV inventories only, so ORC and Parquet reports fail.
    """
    where = f"s3://{bucket}/{key}"
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise StatesError("States.ItemReaderFailed", f"Invalid manifest JSON in {where}: {e}") from None
    if not isinstance(manifest, dict):
        raise StatesError("States.ItemReaderFailed", f"The manifest {where} is not a JSON object.")
    file_format = manifest.get("fileFormat", "CSV")
    if file_format != "CSV":
        raise StatesError("States.ItemReaderFailed",
                          f"The S3 inventory in {where} is {file_format}; only CSV inventories can be read.")
    columns = [c.strip() for c in str(manifest.get("fileSchema", "")).split(",") if c.strip()]
    # destinationBucket is an ARN: arn:aws:s3:::inventory-bucket
    destination = str(manifest.get("destinationBucket") or bucket).rsplit(":", 1)[-1]
    items: list[Any] = []
    for entry in manifest.get("files") or []:
        data_key = str(entry.get("key", "")) if isinstance(entry, dict) else ""
        path = local_path(destination, data_key)
        if not path.is_file():
            raise StatesError("States.ItemReaderFailed",
                              f"S3 object not found: s3://{destination}/{data_key} (looked for {path})")
        raw = path.read_bytes()
        content = (gzip.decompress(raw) if data_key.endswith(".gz") else raw).decode("utf-8")
        items.extend(dict(zip(columns, row, strict=False)) for row in csv.reader(io.StringIO(content)) if row)
    return items


def _limit(items: list[Any], config: Mapping[str, Any]) -> list[Any]:
    limit = config.get("MaxItems")
    return items[: int(limit)] if isinstance(limit, int) and limit > 0 else items


def batch_items(run: StateRun, batcher: Mapping[str, Any], items: list[Any], effective: Any) -> list[Any]:
    """Group items into ``{"Items": [...], "BatchInput": ...}`` as ItemBatcher does."""
    max_items = batcher.get("MaxItemsPerBatch")
    if "MaxItemsPerBatchPath" in batcher:
        max_items = run.path(batcher["MaxItemsPerBatchPath"], effective, "MaxItemsPerBatchPath")
    max_bytes = batcher.get("MaxInputBytesPerBatch")
    if "MaxInputBytesPerBatchPath" in batcher:
        max_bytes = run.path(batcher["MaxInputBytesPerBatchPath"], effective, "MaxInputBytesPerBatchPath")
    batch_input = None
    if "BatchInput" in batcher:
        raw = batcher["BatchInput"]
        batch_input = (dataflow.jsonata_template(raw, run.bindings(), "BatchInput") if run.jsonata
                       else run.payload(raw, effective, "BatchInput"))
    batches: list[Any] = []
    current: list[Any] = []
    size = 0
    for item in items:
        item_size = len(dumps(item).encode())
        full = (isinstance(max_items, int) and len(current) >= max_items) or (
            isinstance(max_bytes, int) and current and size + item_size > max_bytes)
        if full:
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    out = []
    for b in batches:
        entry: dict[str, Any] = {"Items": b}
        if batch_input is not None:
            entry["BatchInput"] = batch_input
        out.append(entry)
    return out


def write_results(run: StateRun, writer: Mapping[str, Any], results: list[Any], *,
                  map_run_arn: str | None = None, child_arns: list[str] | None = None) -> Any:
    """Write the Map results as a ``manifest.json`` plus a ``SUCCEEDED_0.json`` under the prefix."""
    map_run = map_run_arn or run.rt.execution_arn
    args = _arguments(run, writer, run.input)
    bucket = str(args.get("Bucket", ""))
    prefix = str(args.get("Prefix", "")).rstrip("/")
    run_id = uuid.uuid4().hex
    base = local_path(bucket, f"{prefix}/{run_id}" if prefix else run_id)
    base.mkdir(parents=True, exist_ok=True)
    entries = [{"ExecutionArn": child_arns[i] if child_arns else f"{run.rt.execution_arn}:{i}", "Input": None,
                "Output": dumps(r), "Status": "SUCCEEDED"} for i, r in enumerate(results)]
    (base / "SUCCEEDED_0.json").write_text(json.dumps(entries), encoding="utf-8")
    manifest_key = (f"{prefix}/" if prefix else "") + f"{run_id}/manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run, "ResultFiles": {
        "SUCCEEDED": [{"Key": (f"{prefix}/" if prefix else "") + f"{run_id}/SUCCEEDED_0.json",
                       "Size": (base / "SUCCEEDED_0.json").stat().st_size}], "FAILED": [], "PENDING": []}}
    (base / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return {"MapRunArn": map_run,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}
