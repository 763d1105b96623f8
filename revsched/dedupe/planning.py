"""What the three dedupe plays share: their config, their queries, and turning clusters
into decisions and field changes.

For each cluster the master is chosen by the configured rules (by default, first,
the master its flags already point at, so an applied run's rerun plans nothing); the
records joined to it by links at or above the merge threshold are its duplicates
(merged into it, their values filling its empty fields), and the rest of the cluster
is flagged on the record for review, pointing at the master.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from revsched.dedupe.cluster import MergeGroup, PairLink, build_clusters
from revsched.dedupe.config import DedupeConfig, ObjectSpec
from revsched.dedupe.match import Matching
from revsched.dedupe.memory import FlagMemory, digest, flag_stage, remembered_links
from revsched.dedupe.review import link_reasons, review_rows
from revsched.dedupe.survivorship import Facts, choose_master, survivors
from revsched.errors import ConfigError
from revsched.plan import Merge, MergedRecord, Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import Record, Records
from revsched.records import children


def integration_ids(play: str, config: DedupeConfig, records: Records) -> set[str]:
    """The integration users' Ids; a Username not in the org is a config error, not a rule
    that silently never applies."""
    found = {str(u["Username"]).lower(): str(u["Id"]) for u in records.get("integration_users", [])}
    for username in config.integration_users:
        if username.lower() not in found:
            raise ConfigError(f"plays.{play}.integration_users: no user {username!r} in the org")
    return set(found.values())


def facts(record: Record, spec: ObjectSpec, config: DedupeConfig) -> Facts:
    """What the master rules compare; the flag a past run set does not count as data."""
    scalars = [v for k, v in field_values(record, spec).items() if k != config.flag_field]
    return Facts(
        record=record,
        created=str(record["CreatedDate"]),
        owner_id=record.get("OwnerId"),
        activities=sum(len(children(record, name)) for name in spec.activities),
        opportunities=len(children(record, spec.opportunities)) if spec.opportunities else 0,
        filled=sum(1 for v in scalars if v not in (None, "")),
    )


@dataclass
class Outcome:
    """What planning the clusters leaves besides the plan's decisions, changes and merges."""

    # Masters and the records merged into them: their normalized values are planned here.
    planned: set[str]
    # The review report: every member of each cluster with a flagged record, master first.
    review: list[dict[str, Scalar]]


def field_values(record: Record, spec: ObjectSpec) -> dict[str, Scalar]:
    """A record's own values, without its child rows (null when there are none)."""
    skip = {*spec.activities, spec.opportunities, "attributes"}
    return {k: v for k, v in record.items() if k not in skip and not isinstance(v, dict)}


def _merges(
    spec: ObjectSpec, master: Record, merged: Sequence[Record], after: dict[str, Scalar], why: str
) -> list[Merge]:
    """Merge requests into `master`, two records each (Salesforce's limit), run in turn."""
    from revsched.salesforce_soap import MAX_MERGED_PER_REQUEST  # XML stack: not at startup

    before = field_values(master, spec)
    return [
        Merge(
            sobject=spec.sobject,
            master_id=master["Id"],
            master_name=master["Name"],
            merged=tuple(
                MergedRecord(record_id=r["Id"], record_name=r["Name"], fields=field_values(r, spec))
                for r in merged[start : start + MAX_MERGED_PER_REQUEST]
            ),
            master_before=before,
            master_after=before | after,
            reason=why,
        )
        for start in range(0, len(merged), MAX_MERGED_PER_REQUEST)
    ]


def plan_clusters(
    plan: PlanBuilder,
    spec: ObjectSpec,
    records: Sequence[Record],
    matching: Matching,
    config: DedupeConfig,
    integration_ids: set[str],
    compared: Sequence[str],
    normalized: Mapping[str, Mapping[str, tuple[Scalar, str]]] | None = None,
) -> Outcome:
    """Decisions, field changes (survivorship on masters, flags on the rest) and merges per
    cluster, on the plan; a flag a past run set on a record no cluster holds any more is
    cleared, unless it is remembered and neither record changed (revsched.dedupe.memory).

    `compared` names the fields matching reads: a flag is remembered with their values.
    `normalized` holds, by record Id, the values a play writes anyway (field -> value,
    why): survivorship sees them, and a master's are written with its survivors.
    """
    normalized = normalized or {}

    def value(record: Record, field: str) -> Scalar:
        return normalized.get(record["Id"], {}).get(field, (record[field], ""))[0]

    by_id = {r["Id"]: r for r in records}
    names = {r["Id"]: f"{r['Name']} ({r['Id']})" for r in records}
    outcome = Outcome(set(), [])
    flagged_ids: set[str] = set()
    memory = FlagMemory.of(plan.ctx.fired)
    # Masters' values once this run's changes and merges are applied.
    after: dict[str, dict[str, Scalar]] = {}

    def values_digest(flagged: Record, master: Record) -> str:
        def compared_values(record: Record) -> list[Scalar]:
            own = normalized.get(record["Id"], {})
            settled = after.get(record["Id"], {})
            return [settled.get(f, own.get(f, (record.get(f), ""))[0]) for f in compared]

        return digest(compared_values(flagged), compared_values(master))

    def surviving(master: Facts, merged: Sequence[Facts]) -> dict[str, tuple[Scalar, str]]:
        """The master's normalized values, and the duplicates' filling its empty fields."""
        targets = dict(normalized.get(master.id, {}))
        targets |= survivors(master, merged, config.survivorship, value)
        after[master.id] = {field: new for field, (new, _why) in targets.items()}
        return targets

    def merge_into(
        master: Facts,
        merged: Sequence[Facts],
        why: str,
        targets: Mapping[str, tuple[Scalar, str]],
    ) -> None:
        """The master's changes (`targets`), then the merges into it."""
        plan.change(master.record, targets)
        values = {field: new for field, (new, _why) in targets.items()}
        plan.merge(_merges(spec, master.record, [f.record for f in merged], values, why))
        outcome.planned.update([master.id, *(f.id for f in merged)])

    clusters = matching.clusters
    remembered = remembered_links(
        records, clusters, config.flag_field, config.flag_threshold, memory, values_digest, names
    )
    if remembered:
        links = [link for cluster in clusters for link in cluster.links]
        clusters = build_clusters([*links, *remembered], config.flag_threshold)
    for number, cluster in enumerate(clusters, start=1):
        merge_sets = cluster.merge_sets(config.merge_threshold, config.match.min_evidence)
        # The flags a past run set point at the master it chose.
        flagged_to = Counter(by_id[i].get(config.flag_field) for i in cluster.members)
        core = merge_sets[0] if merge_sets else cluster.members
        # That master stays a candidate where it now stands: its merges took from it the
        # duplicates that put it in the cluster's largest merge set.
        current = [i for i in cluster.members if flagged_to[i]]
        if "current_master" in config.master_rules:
            core = tuple(dict.fromkeys([*core, *current]))
        groups = {
            member: cluster.merge_group(
                member,
                config.merge_threshold,
                config.match.min_evidence,
                matching.conflict,
                matching.distinct,
            )
            for member in {*core, *(m for merge_set in merge_sets for m in merge_set)}
        }
        members = [
            replace(
                facts(by_id[i], spec, config),
                duplicates=len(groups[i].merged) if i in groups else 0,
                flagged_to_it=flagged_to[i],
            )
            for i in cluster.members
        ]
        master, merged, why = _merging(core, members, groups, config, integration_ids)
        group = groups[master.id]
        # The other merge sets merge into masters of their own, flagged to the cluster's.
        sides = [
            _merging(merge_set, members, groups, config, integration_ids)
            for merge_set in merge_sets
            if master.id not in merge_set
        ]
        sides = [side for side in sides if side[1] and config.merge]
        side_masters = {side.id for side, _into, _why in sides}
        side_merged = {f.id for _side, into, _why in sides for f in into}
        flags: dict[str, dict[str, tuple[Scalar, str]]] = {}
        flagged = [f for f in members if f.id in group.flagged and f.id not in side_merged]
        if not config.merge:
            merged, flagged = [], [*merged, *flagged]
        kept = surviving(master, merged)
        side_kept = {side.id: surviving(side, into) for side, into, _why in sides}
        digests = {f.id: values_digest(f.record, master.record) for f in flagged}
        # A flag a reviewer cleared is not set again while neither record has changed.
        cleared = [
            f
            for f in flagged
            if not f.record.get(config.flag_field) and memory.holds(f.id, master.id, digests[f.id])
        ]
        flagged = [f for f in flagged if f not in cleared]
        label = f"cluster {number}"
        plan.select(
            master.record,
            f"master of {len(members)} records ({why}); merges {len(merged)}, flags {len(flagged)}",
            f"{label}: master",
            kind="master",
        )
        for duplicate in merged:
            links = link_reasons(cluster, duplicate.id, names)
            why_merge = f"merge into {names[master.id]}: {links}"
            plan.select(duplicate.record, why_merge, f"{label}: merge", kind="merge")
        for duplicate in cleared:
            plan.skip(
                duplicate.record,
                f"possible duplicate of {names[master.id]}, not flagged again: its flag, set"
                " by an earlier run, was cleared since, and neither record has changed:"
                f" {link_reasons(cluster, duplicate.id, names)}",
                f"{label}: flag cleared",
                kind="possible duplicate, flag cleared by a reviewer",
            )
        for duplicate in flagged:
            reasons = link_reasons(cluster, duplicate.id, names)
            plan.skip(
                duplicate.record,
                f"possible duplicate of {names[master.id]}, not merged"
                f" ({group.flagged.get(duplicate.id, 'merge = false')}): {reasons}",
                f"{label}: flag",
                kind="possible duplicate, not merged",
            )
            why_flag = f"possible duplicate of {names[master.id]} ({reasons})"
            flags[duplicate.id] = {config.flag_field: (master.id, why_flag)}
            if duplicate.id not in side_masters:  # theirs go with their merges
                plan.change(duplicate.record, flags[duplicate.id])
            stage = flag_stage(master.id, digests[duplicate.id])
            if (duplicate.id, stage) not in plan.ctx.fired:
                plan.mark_fired(duplicate.id, stage)
            flagged_ids.add(duplicate.id)
        for other, why_apart in group.apart.items():
            plan.skip(
                by_id[other],
                f"not a duplicate of {names[master.id]} ({why_apart}), though linked"
                f" to its cluster: {link_reasons(cluster, other, names)}",
                f"{label}: apart",
                kind="not a duplicate, though linked",
            )
        unflag = {config.flag_field: (None, "master of its cluster, not a duplicate")}
        extra = unflag if master.record.get(config.flag_field) else {}
        merge_into(master, merged, f"{label}: master {names[master.id]} ({why})", kept | extra)
        for side, into, side_why in sides:
            # Flagged to the cluster's master (or was), or kept apart from it: a master only.
            if side.id in flags:
                role = "itself flagged"
            elif side in cleared:
                role = "its flag cleared by a reviewer"
            else:
                role = "kept apart from the master"
            for duplicate in into:
                links = link_reasons(cluster, duplicate.id, names)
                why_merge = f"merge into {names[side.id]}, {role}: {links}"
                plan.select(duplicate.record, why_merge, f"{label}: merge")
            extra = flags.get(side.id) or (unflag if side.record.get(config.flag_field) else {})
            why_side = f"{label}: {names[side.id]} ({side_why}), {role}"
            merge_into(side, into, why_side, side_kept[side.id] | extra)
        if flagged:
            apart = [f for f in members if f.id in group.apart]
            merging_too = [*merged, *(f for _side, into, _why in sides for f in into)]
            roles = {"master": [master], "merge": merging_too, "flag": flagged, "apart": apart}
            outcome.review += review_rows(
                spec.sobject, number, cluster, roles, names, partial(field_values, spec=spec)
            )
    for link, why_blocked in _blocked(matching, config, names):
        blocked = "merge blocked by a safety rule"
        plan.skip(by_id[link.a], why_blocked, blocked, kind=blocked)
    for record in records:
        held = record["Id"] in flagged_ids or record["Id"] in outcome.planned
        if record.get(config.flag_field) and not held:
            why_clear = "no longer a possible duplicate: its cluster no longer holds"
            plan.change(record, {config.flag_field: (None, why_clear)})
    return outcome


def _merging(
    merge_set: Sequence[str],
    members: Sequence[Facts],
    groups: Mapping[str, MergeGroup],
    config: DedupeConfig,
    integration_ids: set[str],
) -> tuple[Facts, list[Facts], str]:
    """The master of `merge_set`, the members merging into it, and why it is the master."""
    candidates = [f for f in members if f.id in merge_set]
    master, why = choose_master(candidates, config.master_rules, integration_ids)
    merged = [f for f in members if f.id in groups[master.id].merged]
    return master, sorted(merged, key=lambda f: f.id), why


def _blocked(
    matching: Matching, config: DedupeConfig, names: Mapping[str, str]
) -> list[tuple[PairLink, str]]:
    """Each pair a safety rule kept from merging that would merge without it, and why: the
    dry run says which rule blocked which merge."""
    return [
        (
            link,
            f"not merged with {names[link.b]}: blocked by {'; '.join(link.blocked)}"
            f" (score {link.score:.2f}: {link.detail})",
        )
        for link in matching.blocked
        if link.score >= config.merge_threshold and len(link.evidence) >= config.match.min_evidence
    ]
