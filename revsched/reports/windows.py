"""One read for many days: a play's date-bounded query, widened to cover every day of a
forecast, then narrowed back to each day in memory.

A play's queries change from day to day only in their date bounds (win-back's churn
date window, renewal-sla's renewal window). When every date literal in a query is a
bound (`Field <= 2026-05-31`) on the queried object, or inside a semi-join on a query
the play also runs (`AccountId IN (SELECT Id FROM Account WHERE <the same filter>)`),
and nothing in it (NOT, LIMIT) makes a wider bound other than a superset, the query
is read once with the loosest bounds, and each day keeps the rows its own bounds (or
its parent query's rows that day) admit, in the same order. Any other query is read
as it is, for each distinct day's text.

A bound under an OR (account-review's `(Request = null AND Assigned <= D) OR Request =
'Needs Review'`) can be false on a day for a row the filter still admits through the
other branch. So a row whose bounds do not all hold on its day is kept when the query
with those bounds made false (`Id = null`) returns it: one more read for each set of
bounds found false, whatever the number of days.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from revsched.play import Record
from revsched.records import field_value

_ANY_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOUND = re.compile(r"([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*(\d{4}-\d{2}-\d{2})(?![\dT])")
_UNSAFE = re.compile(r"\b(NOT|LIMIT|OFFSET)\b", re.IGNORECASE)
_OR = re.compile(r"\bOR\b", re.IGNORECASE)
# What a bound becomes in a query that asks which rows pass without it: never true.
_FALSE = "Id = null"
_SEMI_JOIN = re.compile(r"([A-Za-z_][\w.]*)\s+IN\s*$", re.IGNORECASE)
_SUBQUERY = re.compile(r"\(SELECT Id FROM (\w+) WHERE ", re.IGNORECASE)
_SELECT = re.compile(r"\(\s*SELECT\b", re.IGNORECASE)

Query = Callable[[str], list[Record]]


_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


def _day_text(value: Any) -> str | None:
    """A date or date-time value as its yyyy-mm-dd, which compares as the day does."""
    return None if value is None else str(value)[:10]


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at `start`."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError("unbalanced parentheses")


def _top_level(text: str, word: str) -> int:
    """Where `word` (e.g. " WHERE ") first occurs outside parentheses; -1 if nowhere."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith(word, index):
            return index
    return -1


@dataclass(frozen=True)
class SemiJoin:
    """`field IN (SELECT Id FROM sobject WHERE where)`: a day keeps the rows whose field
    holds an Id its parent query returned that day."""

    field: str
    sobject: str
    where: str


@dataclass(frozen=True)
class Window:
    """A query over all the days: its widened text, and how each day narrows it."""

    widened: str
    sobject: str
    # The top-level WHERE with its dates as `?`: a semi-join on the same filter finds it.
    where: str
    # (field, operator, the bound each day)
    bounds: tuple[tuple[str, str, tuple[str, ...]], ...]
    semi_joins: tuple[SemiJoin, ...]
    # Where each bound stands in `widened`; with `disjunctive`, a bound may be under an OR.
    spans: tuple[tuple[int, int], ...] = ()
    disjunctive: bool = False

    @classmethod
    def of(cls, texts: Sequence[str]) -> Window | None:
        """The window of one query's text on each day; None when it cannot be widened."""
        template = _ANY_DATE.sub("?", texts[0])
        if any(_ANY_DATE.sub("?", text) != template for text in texts):
            return None
        first = texts[0]
        where_at, order_at = _top_level(first, " WHERE "), _top_level(first, " ORDER BY ")
        from_at = _top_level(first, " FROM ")
        if where_at < 0 or from_at < 0 or _UNSAFE.search(first[where_at:]):
            return None
        slots = list(_BOUND.finditer(first))
        if len(slots) != len(_ANY_DATE.findall(first)):  # a datetime, or a date not a bound
            return None
        per_day = [[m.group(3) for m in _BOUND.finditer(text)] for text in texts]
        widened, bounds, spans, semi_joins = list(first), [], [], set()
        for number, slot in enumerate(slots):
            field, op = slot.group(1), slot.group(2)
            days = tuple(day[number] for day in per_day)
            loosest = min(days) if op.startswith(">") else max(days)
            widened[slot.start(3) : slot.end(3)] = list(loosest)  # the same length
            location = cls._locate(first, slot.start(), where_at)
            if location is None:
                return None
            if isinstance(location, SemiJoin):
                semi_joins.add(location)
            else:
                bounds.append((field, op, days))
                spans.append((slot.start(), slot.end()))
        end = order_at if order_at > 0 else len(first)
        disjunctive = bool(_OR.search(_without_subqueries(first[where_at:end])))
        if disjunctive and semi_joins:  # a semi-join under an OR is not a plain filter
            return None
        return cls(
            widened="".join(widened),
            sobject=first[from_at + 6 : where_at].strip(),
            where=_ANY_DATE.sub("?", first[where_at + 7 : end]).strip(),
            bounds=tuple(bounds),
            semi_joins=tuple(sorted(semi_joins, key=lambda s: s.field)),
            spans=tuple(spans),
            disjunctive=disjunctive,
        )

    @staticmethod
    def _locate(text: str, at: int, where_at: int) -> SemiJoin | str | None:
        """ "main" for a bound in the top-level WHERE (in parentheses or not), its
        semi-join for one inside a top-level `field IN (SELECT Id FROM X WHERE ...)`,
        else None."""
        opened: list[int] = []
        for index in range(at):
            if text[index] == "(":
                opened.append(index)
            elif text[index] == ")":
                opened.pop()
        if at < where_at or (opened and opened[0] < where_at):
            return None
        selects = [i for i in opened if _SELECT.match(text, i)]
        if not selects:
            return "main"
        if selects != opened[:1]:  # a subquery only as the outermost parenthesis
            return None
        start = opened[0]
        subquery = _SUBQUERY.match(text, start)
        outer = _SEMI_JOIN.search(text[:start])
        if subquery is None or outer is None:
            return None
        inner = text[subquery.end() : _closing(text, start)]
        return SemiJoin(outer.group(1), subquery.group(1), _ANY_DATE.sub("?", inner).strip())

    def without(self, bounds: frozenset[int]) -> str:
        """The widened query with these bounds (by number) made false: the rows it
        returns pass the filter without them."""
        text = self.widened
        for number in sorted(bounds, reverse=True):
            start, end = self.spans[number]
            text = f"{text[:start]}{_FALSE}{text[end:]}"
        return text

    def bounded(self, rows: list[Record]) -> list[tuple[str | None, ...]]:
        """Each row's values of the bounded fields, as `day` compares them: found once
        for all the days."""
        fields = [f for f, _op, _days in self.bounds]
        return [tuple(_day_text(field_value(row, f)) for f in fields) for row in rows]

    def day(
        self,
        rows: list[Record],
        number: int,
        parents: dict[SemiJoin, set[str]],
        passing: Callable[[frozenset[int]], set[str]] = lambda bounds: set(),
        values: list[tuple[str | None, ...]] | None = None,
    ) -> list[Record]:
        """The rows day `number` of the window reads; `passing(bounds)`: the Ids of the
        rows the query admits with those bounds false (what `without` reads); `values`:
        what `bounded` gives for the rows."""
        checks = [(_COMPARE[op], days[number]) for _f, op, days in self.bounds]
        pairs = zip(rows, values or self.bounded(rows), strict=True)
        if self.semi_joins:
            joins = [(s.field, parents[s]) for s in self.semi_joins]
            pairs = (p for p in pairs if all(p[0].get(f) in ids for f, ids in joins))
        if len(checks) == 1 and not self.disjunctive:  # the usual window, made quick
            [(compare, bound)] = checks
            return [row for row, (value,) in pairs if value is not None and compare(value, bound)]
        kept = []
        for row, held in pairs:
            failed = [
                n
                for n, (value, (compare, bound)) in enumerate(zip(held, checks, strict=True))
                if value is None or not compare(value, bound)
            ]
            if not failed or (self.disjunctive and row["Id"] in passing(frozenset(failed))):
                kept.append(row)
        return kept


class DayReader:
    """Each day's rows of each named query: windows and queries the same every day read
    once, up front; any other query read when its day comes (see the module)."""

    def __init__(self, queries: Sequence[dict[str, str]], query: Query):
        self._queries = queries
        self._query = query
        names = list(dict.fromkeys(name for day in queries for name in day))
        windows: dict[str, Window] = {}
        self._same: dict[str, list[Record]] = {}
        for name in names:
            texts = [day.get(name) for day in queries]
            known = [text for text in texts if text is not None]
            if len(known) == len(texts) and len(set(known)) == 1:
                self._same[name] = query(known[0])
            elif len(known) == len(texts) and (window := Window.of(known)) is not None:
                windows[name] = window
        parents = {n: [_parent(s, windows) for s in w.semi_joins] for n, w in windows.items()}
        # Windows without semi-joins first: a semi-join narrows by its parent's rows.
        self._windows = [
            (name, window, [str(p) for p in parents[name]])
            for name, window in sorted(windows.items(), key=lambda item: bool(item[1].semi_joins))
            if None not in parents[name]
        ]
        self._widened = {name: query(window.widened) for name, window, _ in self._windows}
        self._values = {
            name: window.bounded(self._widened[name]) for name, window, _ in self._windows
        }
        self._last: dict[str, tuple[str, list[Record]]] = {}
        self._passing: dict[str, set[str]] = {}

    def day(self, number: int, texts: Mapping[str, str]) -> dict[str, list[Record]]:
        """Day `number`'s rows of each of `texts`, the queries the play built that day: one
        that differs from the text foreseen (a watermark moved on by the days before) is
        read as it is."""
        foreseen = self._queries[number]
        rows: dict[str, list[Record]] = {}
        for name, text in texts.items():
            if name in self._same and text == foreseen[name]:
                rows[name] = self._same[name]
            elif name not in self._widened or text != foreseen[name]:
                rows[name] = self.read(name, text)
        for name, window, parents in self._windows:
            if name in rows or name not in texts:
                continue
            ids = {
                s: {r["Id"] for r in rows[parent]}
                for s, parent in zip(window.semi_joins, parents, strict=True)
            }
            passing = partial(self._ids, window)
            rows[name] = window.day(self._widened[name], number, ids, passing, self._values[name])
        return rows

    def read(self, name: str, text: str) -> list[Record]:
        """A query read when its day comes (a follow-up too): again only if its text
        differs from the last day's."""
        last = self._last.get(name)
        if last is None or last[0] != text:
            self._last[name] = last = (text, self._query(text))
        return last[1]

    def _ids(self, window: Window, bounds: frozenset[int]) -> set[str]:
        """The Ids the window's query returns with these bounds false, read once."""
        text = window.without(bounds)
        if text not in self._passing:
            self._passing[text] = {row["Id"] for row in self._query(text)}
        return self._passing[text]


def _without_subqueries(text: str) -> str:
    """The text with what every parenthesised SELECT holds left out."""
    for match in reversed(list(_SELECT.finditer(text))):
        text = text[: match.start()] + text[_closing(text, match.start()) + 1 :]
    return text


def _parent(semi_join: SemiJoin, windows: dict[str, Window]) -> str | None:
    """The query (a window without semi-joins) whose filter the semi-join repeats."""
    for name, window in windows.items():
        same = (window.sobject, window.where) == (semi_join.sobject, semi_join.where)
        if same and not window.semi_joins:
            return name
    return None
