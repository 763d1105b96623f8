"""How a cluster reads in the plan and the review report: each record's links with their
rules, scores and comparisons, and the members' values side by side."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from revsched.dedupe.cluster import Cluster
from revsched.dedupe.survivorship import Facts
from revsched.plan import Scalar
from revsched.play import Record


def link_reasons(cluster: Cluster, record_id: str, names: Mapping[str, str]) -> str:
    """Each link of the record: its rule, score, the other record and every comparison."""
    return "; ".join(
        f"{link.rule} {link.score:.2f} with {names[link.b if link.a == record_id else link.a]}"
        f" ({link.detail})"
        for link in cluster.links_of(record_id)
    )


def review_rows(
    sobject: str,
    number: int,
    cluster: Cluster,
    roles: Mapping[str, Sequence[Facts]],
    names: Mapping[str, str],
    values: Callable[[Record], Mapping[str, Scalar]],
) -> list[dict[str, Scalar]]:
    """A flagged cluster for the review report: each member, its role, its links (their
    rules and best score) and its values, so a reviewer compares the members side by side."""
    [master] = roles["master"]
    rows: list[dict[str, Scalar]] = []
    for role, members in roles.items():
        for f in members:
            links = cluster.links_of(f.id)
            compared = values(f.record)
            rows.append(
                {
                    "cluster": number,
                    "role": role,
                    "sobject": sobject,
                    "record_id": f.id,
                    "record_name": f.record["Name"],
                    "master_id": master.id,
                    "rules": ", ".join(sorted({link.rule for link in links})),
                    "score": max((round(link.score, 2) for link in links), default=None),
                    "links": link_reasons(cluster, f.id, names),
                    **{k: v for k, v in compared.items() if k not in ("Id", "Name")},
                }
            )
    return rows
