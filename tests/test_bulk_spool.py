"""A streamed plan's Bulk update CSV, written as its pages are decided: a row per changed
record once the object passes the Bulk threshold (the pages before it read back from the
store), and no file, so the upload reads the store, when a page could repeat a record or
sets a field the file has no column for."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from revsched.bulk_spool import BulkSpool
from revsched.plan import FieldChange
from revsched.play import Record


class SavedPages:
    """The store as the spool reads it: the records the run's saved changes write."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.reads = 0

    def planned_records(self, run_id: int, sobject: str) -> Iterator[Record]:
        self.reads += 1
        return iter(self.records)


def change(number: int, field: str, new: Any, sobject: str = "Account") -> FieldChange:
    return FieldChange(sobject, f"001{number:03d}", f"Account {number}", field, None, new, "")


def page(*numbers: int) -> list[Record]:
    return [{"Id": f"001{n:03d}", "Name": f"Account {n}"} for n in numbers]


def rows(spool: BulkSpool, sobject: str = "Account") -> list[list[str]] | None:
    """The uploaded CSV's rows (header first), or None when there is no file."""
    update = spool.take(sobject)
    if update is None:
        return None
    with update.data() as data:
        data.seek(0)
        return list(csv.reader(io.StringIO(data.read().decode())))


def test_each_page_adds_a_row_per_record_its_changes_write():
    store = SavedPages()
    spool = BulkSpool(store, 1, threshold=0)  # type: ignore[arg-type]
    fields = {"Account": ["Health_Score__c", "Industry"]}
    # The first page passes the threshold: its saved changes are read back.
    store.records = [{"Id": "001001", "Health_Score__c": 50.0, "Industry": "Retail"}]
    first = [change(1, "Health_Score__c", 50.0), change(1, "Industry", "Retail")]
    spool.add(first, page(1, 2), {"Account": 1}, fields)
    second = [change(3, "Industry", None), change(4, "Health_Score__c", 7)]
    spool.add([*second, change(4, "Industry", True)], page(3, 4), {"Account": 3}, fields)

    # Null is #N/A; a field the record does not change stays blank (left alone).
    assert rows(spool) == [
        ["Id", "Health_Score__c", "Industry"],
        ["001001", "50.0", "Retail"],
        ["001003", "", "#N/A"],
        ["001004", "7", "true"],
    ]
    assert store.reads == 1


def test_the_pages_before_the_object_passed_the_threshold_are_read_back_once():
    store = SavedPages()
    spool = BulkSpool(store, 1, threshold=2)  # type: ignore[arg-type]
    fields = {"Account": ["Health_Score__c"]}

    spool.add([change(1, "Health_Score__c", 1.0)], page(1), {"Account": 1}, fields)
    assert store.reads == 0
    # Past the threshold with this page, saved already: the store holds both pages' records.
    store.records = [
        {"Id": "001001", "Health_Score__c": 1.0},
        {"Id": "001002", "Health_Score__c": 2.0},
    ]
    spool.add([change(2, "Health_Score__c", 2.0)], page(2), {"Account": 3}, fields)
    spool.add([change(3, "Health_Score__c", 3.0)], page(3), {"Account": 4}, fields)

    assert store.reads == 1
    assert rows(spool) == [
        ["Id", "Health_Score__c"],
        ["001001", "1.0"],
        ["001002", "2.0"],
        ["001003", "3.0"],
    ]


def test_a_page_changing_a_record_it_does_not_hold_leaves_the_upload_to_the_store():
    """Another page may change that record too: two rows of one record in one job."""
    spool = BulkSpool(SavedPages(), 1, threshold=0)  # type: ignore[arg-type]
    fields = {"Account": ["Health_Score__c"], "Contact": ["Title"]}
    spool.add(
        [change(1, "Health_Score__c", 1.0), change(9, "Title", "CEO", sobject="Contact")],
        page(1),
        {"Account": 1, "Contact": 1},
        fields,
    )
    spool.add([change(2, "Health_Score__c", 2.0)], page(2), {"Account": 2}, fields)
    spool.add([change(1, "Health_Score__c", 5.0)], page(3), {"Account": 3}, fields)

    assert rows(spool, "Contact") is None
    assert rows(spool, "Account") is None


def test_a_page_setting_a_field_the_file_has_no_column_for_leaves_the_upload_to_the_store():
    spool = BulkSpool(SavedPages(), 1, threshold=0)  # type: ignore[arg-type]
    spool.add(
        [change(1, "Health_Score__c", 1.0)],
        page(1),
        {"Account": 1},
        {"Account": ["Health_Score__c"]},
    )
    spool.add(
        [change(2, "Industry", "Retail")],
        page(2),
        {"Account": 2},
        {"Account": ["Health_Score__c", "Industry"]},
    )

    assert rows(spool) is None


def test_an_object_under_the_threshold_has_no_file():
    spool = BulkSpool(SavedPages(), 1, threshold=5)  # type: ignore[arg-type]
    spool.add([change(1, "Health_Score__c", 1.0)], page(1), {"Account": 1}, {"Account": ["X"]})

    assert rows(spool) is None
