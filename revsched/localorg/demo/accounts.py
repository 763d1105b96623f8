"""Random accounts of each type (prospects in their review scenarios, customers with
renewals, churned and churning former customers, partners) and leads, as the generated
bulk of the demo org."""

from __future__ import annotations

import math
from datetime import date, timedelta

from revsched.localorg.demo.directory import HOLDING_QUEUE, STATUS_QUEUES, Directory
from revsched.localorg.demo.drafts import AccountDraft, Company, DraftRecord, LeadDraft
from revsched.localorg.demo.factory import EARLY_BUYING_STAGES, RENEWAL_CHECKPOINTS, RecordFactory
from revsched.localorg.demo.vocabulary import LEAD_SOURCES, TITLES
from revsched.localorg.standard_objects import LEAD_STATUSES, LOSS_REASONS

ACCOUNT_MIX = (("Prospect", 45), ("Customer", 35), ("Former Customer", 15), ("Partner", 5))
PROSPECT_SCENARIOS = (
    ("dormant", 25),
    ("engaged", 20),
    ("scheduled", 15),
    ("in_deal", 20),
    ("needs_review", 12),
    ("add_drop", 8),
)
LEAD_STATUS_WEIGHTS = dict(zip(LEAD_STATUSES, (15, 20, 10, 8, 10, 5, 5, 8, 8, 11), strict=True))
UNASSIGNED_PROSPECT_SHARE = 0.3
PENDING_CHURN_SHARE = 0.12
MAX_HISTORY_DAYS = 548  # churned former customers left 0-18 months ago


class AccountGenerator(RecordFactory):
    """Random accounts by type and leads at new companies."""

    def __init__(self, directory: Directory, *, seed: int, today: date) -> None:
        super().__init__(directory, seed=seed, today=today)
        self._former_count = 0
        self._lead_count = 0

    def _kinds(self, size: int) -> list[str]:
        """Exactly proportionate account types for a batch (largest remainder), shuffled."""
        total = sum(w for _k, w in ACCOUNT_MIX)
        quotas = [(size * w / total, k) for k, w in ACCOUNT_MIX]
        counts = {k: math.floor(q) for q, k in quotas}
        by_remainder = sorted(quotas, key=lambda qk: qk[0] - math.floor(qk[0]), reverse=True)
        for _q, kind in by_remainder[: size - sum(counts.values())]:
            counts[kind] += 1
        kinds = [k for k, n in counts.items() for _ in range(n)]
        self.rng.shuffle(kinds)
        return kinds

    def _account(self, kind: str) -> AccountDraft:
        company = self._next_company()
        if kind == "Prospect":
            return self._prospect(company)
        if kind == "Customer":
            return self._customer(company)
        if kind == "Former Customer":
            return self._former_customer(company)
        return self._partner(company)

    def _prospect(self, company: Company) -> AccountDraft:
        if self.rng.random() < UNASSIGNED_PROSPECT_SHARE:
            return self._unassigned_prospect(company)
        scenario = self._weighted(PROSPECT_SCENARIOS)
        owner = self._pick(self.aes)
        dormant = scenario in ("dormant", "needs_review")
        assigned = self._int(90, 700) if dormant else self._int(5, 700)
        draft = AccountDraft(self._base_account(company, "Prospect", owner, assigned))
        draft.account.update(Account_Status__c="Prospect", AE__c=owner)
        draft.account["Buying_Stage__c"] = self._pick(
            EARLY_BUYING_STAGES if dormant else (*EARLY_BUYING_STAGES, "Purchase", "Decision")
        )
        draft.contacts = self._contacts(company, owner, self._int(2, 6))
        if scenario == "needs_review":
            draft.account.update(
                Add_Drop_Request__c="Needs Review",
                Needs_Review_Date__c=self._day(-self._int(10, 40)),
            )
            # Half of the reviewed accounts re-engaged since they were flagged.
            scenario = "dormant" if self.rng.random() < 0.5 else "engaged"
        if scenario == "add_drop":
            request = self._pick(("Keep Account", "Drop Account"))
            self._request_add_drop(draft.account, request, owner)
            scenario = "dormant"
        self._prospect_activity(draft, company, scenario, owner)
        return draft

    def _unassigned_prospect(self, company: Company) -> AccountDraft:
        """A prospect held by RevOps; some carry an AE's request to add it as named."""
        draft = AccountDraft(
            self._base_account(company, "Prospect", self.revops, self._int(30, 900))
        )
        draft.account.update(
            Account_Status__c="Prospect", Buying_Stage__c=self._pick(EARLY_BUYING_STAGES)
        )
        draft.contacts = self._contacts(company, self.revops, self._int(2, 6))
        if self.rng.random() < 0.1:
            self._request_add_drop(draft.account, "Add as Named", self._pick(self.aes))
        return draft

    def _request_add_drop(self, account: DraftRecord, request: str, requester: str) -> None:
        account.update(
            Add_Drop_Request__c=request,
            Add_Drop_Approval__c=self._weighted(
                (("Approved", 50), ("Rejected", 20), ("Pending", 30))
            ),
            Add_Drop_Requested_By__c=requester,
        )

    def _prospect_activity(
        self, draft: AccountDraft, company: Company, scenario: str, owner: str
    ) -> None:
        """Activities (and for in_deal an open opportunity) that fit the prospect's scenario.

        Dormant prospects get nothing newer than 28 days and nothing in the future, so
        they are exactly the account-review play's candidates.
        """
        if self.rng.random() < 0.5:
            draft.activities.append(self._task(owner, -self._int(45, 400), done=True))
        if scenario == "engaged":
            draft.activities.append(self._task(owner, -self._int(1, 27), done=True))
        elif scenario == "scheduled":
            draft.activities.append(self._upcoming_activity(owner))
        elif scenario == "in_deal":
            draft.opportunities.append(self._new_business(company, owner, draft.contacts))
            draft.activities.append(self._upcoming_activity(owner, opportunity=0))
            draft.activities.append(self._task(owner, -self._int(1, 20), done=True))

    def _customer(self, company: Company) -> AccountDraft:
        owner, am, csm = (self._pick(pool) for pool in (self.aes, self.ams, self.csms))
        draft = AccountDraft(self._base_account(company, "Customer", owner, self._int(30, 900)))
        days_to_renewal = self._days_to_renewal()
        contract = self._pick((25, 50, 100, 250, 500, 1000))
        health = float(self._int(20, 100))
        draft.account.update(
            Health_Score__c=health,
            Account_Status__c="At Risk" if health < 50 else "Active",
            AE__c=owner,
            AM__c=am,
            CSM__c=csm,
            SDR__c=self._pick(self.sdrs),
            Renewal_Date__c=self._day(days_to_renewal),
            Users_In_Contract__c=contract,
            Users_Routed__c=round(contract * self.rng.uniform(0.6, 1.3)),
        )
        draft.contacts = self._contacts(company, owner, self._int(2, 6))
        years = self._int(1, 3)
        draft.opportunities = [
            *self._won_history(company, owner, am, draft.contacts, days_to_renewal - 365, years),
            self._open_renewal(company, am, draft.contacts, days_to_renewal, health),
        ]
        draft.activities = [
            self._task(am, -self._int(1, 90), done=True, opportunity=years),
            self._task(csm, -self._int(1, 60), done=self.rng.random() < 0.7),
        ]
        if self.rng.random() < 0.5:
            draft.activities.append(self._event(csm, -self._int(10, 120)))
        if self.rng.random() < 0.5:
            draft.activities.append(self._upcoming_activity(am, opportunity=years))
        return draft

    def _days_to_renewal(self) -> int:
        """Some renewals just crossed an SLA checkpoint; the rest spread over a year."""
        if self.rng.random() < 0.4:
            return self._pick(RENEWAL_CHECKPOINTS) - self._int(0, 5)
        return self._int(5, 365)

    def _former_customer(self, company: Company) -> AccountDraft:
        """A churned customer held by RevOps, or (a few) one whose churn is not recorded yet."""
        self._former_count += 1
        reason = LOSS_REASONS[self._former_count % len(LOSS_REASONS)]
        if self.rng.random() < PENDING_CHURN_SHARE:
            return self._pending_churn(company, reason)
        churn = self.today - timedelta(days=self._int(0, MAX_HISTORY_DAYS))
        return self._churned(company, churn, reason, owner=self.revops)

    def _churned(
        self,
        company: Company,
        churn: date,
        reason: str | None,
        *,
        owner: str,
        sdr: str | None = None,
        primary_contact: bool = True,
    ) -> AccountDraft:
        """A former customer with its Closed Won history and (unless `reason` is None) the
        lost renewal near the churn date that the win-back play reads."""
        since_churn = (self.today - churn).days
        assigned = since_churn if owner == self.revops else max(since_churn - 183, 0)
        draft = AccountDraft(self._base_account(company, "Former Customer", owner, assigned))
        draft.account.update(
            Account_Status__c="Churned",
            Churn_Date__c=churn.isoformat(),
            Health_Score__c=float(self._int(5, 45)),
        )
        if owner != self.revops:
            draft.account.update(AE__c=owner, SDR__c=sdr)
        draft.contacts = self._contacts(company, owner, self._int(2, 6))
        self._add_churn_history(draft, company, -since_churn, reason, primary_contact)
        return draft

    def _pending_churn(self, company: Company, reason: str) -> AccountDraft:
        """Marked Former Customer today-ish but still staffed: churn-intake's input."""
        owner, am, csm = (self._pick(pool) for pool in (self.aes, self.ams, self.csms))
        draft = AccountDraft(
            self._base_account(company, "Former Customer", owner, self._int(200, 900))
        )
        draft.account.update(
            Account_Status__c="At Risk",
            AE__c=owner,
            AM__c=am,
            CSM__c=csm,
            SDR__c=self._pick(self.sdrs),
        )
        draft.contacts = self._contacts(company, owner, self._int(2, 6))
        self._add_churn_history(draft, company, -self._int(0, 10), reason, True)
        return draft

    def _add_churn_history(
        self,
        draft: AccountDraft,
        company: Company,
        churn_offset: int,
        reason: str | None,
        primary_contact: bool,
    ) -> None:
        """Closed Won years before the churn, then the lost renewal just before it."""
        am = self._pick(self.ams)
        owner = str(draft.account["OwnerId"])
        ae = owner if owner in self.aes else self._pick(self.aes)
        lost_close = churn_offset - self._int(0, 14)
        years = self._int(2, 3)  # New Business, then at least one won renewal
        draft.opportunities = self._won_history(
            company, ae, am, draft.contacts, lost_close - 365, years
        )
        if reason is not None:
            lost = self._opportunity(company, "Renewal", "Closed Lost", am, lost_close)
            lost.fields["Loss_Reason__c"] = reason
            lost.roles = self._roles(draft.contacts, primary=primary_contact)
            draft.opportunities.append(lost)
        draft.activities.append(
            self._task(am, lost_close - self._int(5, 60), done=True, opportunity=years - 1)
        )

    def _partner(self, company: Company) -> AccountDraft:
        owner = self._pick((*self.aes, self.revops))
        draft = AccountDraft(self._base_account(company, "Partner", owner, self._int(30, 900)))
        draft.account["Account_Status__c"] = "Active"
        draft.contacts = self._contacts(company, owner, self._int(2, 4))
        draft.activities.append(self._task(owner, -self._int(1, 120), done=True, contact=0))
        return draft

    # Leads ---------------------------------------------------------------------------

    def _lead_batch(self, accounts: int) -> list[LeadDraft]:
        """About 1.5 leads per account: 1-3 leads at each of 3/4 as many new companies."""
        leads = []
        for _ in range(accounts * 3 // 4):
            company = self._next_company()
            leads += [self._lead(company, *person) for person in self._people(self._int(1, 3))]
        return leads

    def _lead(self, company: Company, first: str, last: str) -> LeadDraft:
        status = self._lead_status()
        _city, state, country, _prefix = company.city
        owner, sequenced = self._lead_owner(status)
        draft = LeadDraft(
            {
                "FirstName": first,
                "LastName": last,
                "Company": company.name,
                "Title": self._pick(TITLES),
                "Email": f"{first}.{last}@{company.domain}".lower(),
                "Phone": self._phone(company),
                "Website": f"www.{company.domain}",
                "Country": country,
                "State": state,
                "Status": status,
                "LeadSource": self._pick(LEAD_SOURCES),
                "OwnerId": owner,
                "Actively_Being_Sequenced__c": sequenced,
                "CreatedDate": self.created_at(self._int(1, 400)),
            }
        )
        if status == "Working" and owner in self.sdrs and self.rng.random() < 0.6:
            draft.tasks.append(self._task(owner, self._int(0, 10), done=False).fields)
        return draft

    def _lead_status(self) -> str:
        """Every status once first (so even tiny orgs have them all), then weighted."""
        self._lead_count += 1
        if self._lead_count <= len(LEAD_STATUSES):
            return LEAD_STATUSES[self._lead_count - 1]
        return self._weighted(tuple(LEAD_STATUS_WEIGHTS.items()))

    def _lead_owner(self, status: str) -> tuple[str, bool]:
        """(OwnerId, Actively_Being_Sequenced__c): mostly SDRs, some queues, a few AEs."""
        roll = self.rng.random()
        if roll < 0.65:
            return self._pick(self.sdrs), self.rng.random() < 0.25
        if roll < 0.85:
            return self.queues[STATUS_QUEUES.get(status, HOLDING_QUEUE)], False
        return self._pick(self.aes), False
