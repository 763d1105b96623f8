"""What the SOQL compiler hands the query engine: SQL pieces over alias t0, their
parameters, and how to shape each row into the records Salesforce returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from revsched.localorg import schema
from revsched.localorg.sql import q


@dataclass
class Output:
    """One node of a returned record: a field, a parent object, or a child query."""

    key: str
    index: int = 0  # column of the value (field) or of the parent's Id (parent)
    field: schema.Field | None = None
    type_name: str = ""  # parent: the sObject type; "Name" for polymorphic lookups
    children: list[Output] = dataclasses.field(default_factory=list)  # parent: its outputs
    subquery: CompiledQuery | None = None  # a parent-to-child subquery
    # TYPEOF: the outputs for each sObject type the lookup may name ("" for ELSE).
    branches: dict[str, list[Output]] | None = None
    formatted: bool = False  # FORMAT(): the value as the user reads it (values.display)


@dataclass
class CompiledQuery:
    """A compiled query: SQL pieces over alias t0 plus how to shape each row."""

    sobject: schema.SObject
    prefix: str
    count: bool = False
    columns: list[str] = dataclasses.field(default_factory=list)
    outputs: list[Output] = dataclasses.field(default_factory=list)
    joins: list[str] = dataclasses.field(default_factory=list)
    where: str = ""
    params: list[object] = dataclasses.field(default_factory=list)
    order: list[str] = dataclasses.field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    link: str = ""  # child query: the lookup column to the parent
    # Aggregate queries (aggregate functions or GROUP BY): one AggregateResult per group.
    aggregate: bool = False
    group_by: list[str] = dataclasses.field(default_factory=list)
    having: str = ""

    @property
    def root(self) -> str:
        return f"{self.prefix}t0"

    def column(self, expr: str) -> int:
        """Reads `expr` in each row: its index in the row."""
        self.columns.append(expr)
        return len(self.columns) - 1

    def from_sql(self) -> str:
        return " ".join([f"{q(self.sobject.name)} {self.root}", *self.joins])

    def where_sql(self, include_deleted: bool) -> str:
        parts = [] if include_deleted else [f"{self.root}.IsDeleted = 0"]
        if self.where:
            parts.append(self.where)
        return " AND ".join(parts) or "1"

    def order_sql(self) -> str:
        return ", ".join([*self.order, f"{self.root}.rowid"])

    def aggregate_sql(self, include_deleted: bool) -> str:
        """The grouped SELECT of an aggregate query (its columns are the outputs)."""
        sql = f"SELECT {', '.join(self.columns) or '1'} FROM {self.from_sql()} "
        sql += f"WHERE {self.where_sql(include_deleted)}"
        if self.group_by:
            sql += f" GROUP BY {', '.join(self.group_by)}"
        if self.having:
            sql += f" HAVING {self.having}"
        if self.order:
            sql += f" ORDER BY {', '.join(self.order)}"
        return sql + f" LIMIT {-1 if self.limit is None else self.limit} OFFSET {self.offset}"
