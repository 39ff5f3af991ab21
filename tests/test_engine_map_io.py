"""Distributed Map on the local disk: ItemReader (JSON, CSV, S3 inventory manifest), ItemBatcher, ResultWriter,
tolerated failures; and the history quota."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine import execute

PROCESSOR = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
             "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path))
    return tmp_path / "s3"


def map_state(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": PROCESSOR, "End": True, **fields}}}


def test_item_reader_json_from_local_s3(s3: Path) -> None:
    (s3 / "bkt" / "in").mkdir(parents=True)
    (s3 / "bkt" / "in" / "items.json").write_text(json.dumps([{"n": 1}, {"n": 2}]))
    definition = map_state(ItemReader={"Resource": "arn:aws:states:::s3:getObject",
                                       "Parameters": {"Bucket": "bkt", "Key.$": "$.key"}})
    run = execute(definition, {"key": "in/items.json"})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == [{"n": 1}, {"n": 2}]
    assert [e["type"] for e in run.history if e["type"].startswith("MapRun")] == ["MapRunStarted",
                                                                                  "MapRunSucceeded"]


def test_item_reader_csv_with_header_row_and_max_items(s3: Path) -> None:
    (s3 / "bkt").mkdir(parents=True)
    (s3 / "bkt" / "rows.csv").write_text("name,size\na,1\nb,2\nc,3\n")
    definition = map_state(ItemReader={"Resource": "arn:aws:states:::s3:getObject",
                                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                                                        "MaxItems": 2},
                                       "Parameters": {"Bucket": "bkt", "Key": "rows.csv"}})
    run = execute(definition)
    assert run.output == [{"name": "a", "size": "1"}, {"name": "b", "size": "2"}]


def test_item_reader_manifest_reads_the_s3_inventory_rows(s3: Path) -> None:
    (s3 / "inv" / "src" / "data").mkdir(parents=True)
    (s3 / "inv" / "src" / "data" / "part-1.csv.gz").write_bytes(
        gzip.compress(b'"photos","a.jpg","10"\n"photos","b.jpg","20"\n'))
    (s3 / "inv" / "src" / "data" / "part-2.csv").write_text('"photos","c.jpg","30"\n')
    manifest = {"sourceBucket": "photos", "destinationBucket": "arn:aws:s3:::inv", "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size",
                "files": [{"key": "src/data/part-1.csv.gz"}, {"key": "src/data/part-2.csv"}]}
    (s3 / "inv" / "src" / "manifest.json").write_text(json.dumps(manifest))
    reader = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST", "MaxItems": 2},
              "Parameters": {"Bucket": "inv", "Key": "src/manifest.json"}}
    run = execute(map_state(ItemReader=reader))
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == [{"Bucket": "photos", "Key": "a.jpg", "Size": "10"},
                          {"Bucket": "photos", "Key": "b.jpg", "Size": "20"}]
    (s3 / "inv" / "src" / "manifest.json").write_text(json.dumps({**manifest, "fileFormat": "Parquet"}))
    run = execute(map_state(ItemReader=reader))
    assert (run.status, run.error) == ("FAILED", "States.ItemReaderFailed")
    assert "only CSV inventories" in (run.cause or "")


def test_missing_object_fails_the_map(s3: Path) -> None:
    definition = map_state(ItemReader={"Resource": "arn:aws:states:::s3:getObject",
                                       "Parameters": {"Bucket": "bkt", "Key": "nope.json"}})
    run = execute(definition)
    assert (run.status, run.error) == ("FAILED", "States.ItemReaderFailed")


def test_item_batcher_groups_items_with_batch_input() -> None:
    definition = map_state(ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
                           ItemsPath="$.xs")
    run = execute(definition, {"xs": [1, 2, 3], "tag": "t"})
    assert run.output == [{"Items": [1, 2], "BatchInput": {"tag": "t"}},
                          {"Items": [3], "BatchInput": {"tag": "t"}}]


def test_result_writer_writes_results_and_returns_the_manifest_location(s3: Path) -> None:
    definition = map_state(ResultWriter={"Resource": "arn:aws:states:::s3:putObject",
                                         "Parameters": {"Bucket": "out", "Prefix": "runs"}})
    run = execute(definition, [1, 2])
    assert run.status == "SUCCEEDED", run.cause
    key = run.output["ResultWriterDetails"]["Key"]
    manifest = json.loads((s3 / "out" / key).read_text())
    results = json.loads((s3 / "out" / manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]).read_text())
    assert [json.loads(r["Output"]) for r in results] == [1, 2]


def test_distributed_failures_beyond_tolerance_exceed_the_threshold() -> None:
    failing = {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "F",
               "States": {"F": {"Type": "Fail", "Error": "E"}}}
    definition = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": failing, "End": True,
                                                   "ToleratedFailurePercentage": 50}}}
    run = execute(definition, [1, 2, 3])
    assert (run.status, run.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


def test_history_quota_fails_the_execution() -> None:
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    run = execute(loop)
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert "maximum number of history events (25000)" in (run.cause or "")


def test_each_distributed_item_has_its_own_history_quota() -> None:
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True, "ItemsPath": "$.xs",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    definition = {"StartAt": "D", "States": {"D": {"Type": "Map", "ItemProcessor": processor, "End": True}}}
    # 4 child executions x ~8,400 events: over 25,000 together, each well under it.
    items = [{"xs": list(range(2_100))} for _ in range(4)]
    run = execute(definition, items)
    assert run.status == "SUCCEEDED", run.cause
    assert len(run.history) < 20
