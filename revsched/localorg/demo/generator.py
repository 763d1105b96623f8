"""The whole demo org as batches of drafts: the generated accounts and leads around the
plays' fixtures, BATCH_ACCOUNTS accounts at a time (which bounds memory)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from revsched.localorg.demo.accounts import AccountGenerator
from revsched.localorg.demo.directory import HOLDING_QUEUE, Directory
from revsched.localorg.demo.drafts import (
    AccountDraft,
    Company,
    DraftRecord,
    LeadDraft,
    OpportunityDraft,
    company_domain,
)
from revsched.localorg.demo.fixtures import (
    ALIGNMENT_FIXTURES,
    RENEWAL_FIXTURES,
    REVIEW_FIXTURES,
    USERGEMS_ACCOUNTS,
    USERGEMS_PEOPLE,
    WIN_BACK_FIXTURES,
    AlignmentFixture,
    LeadStatusFixture,
    OverageFixture,
    RenewalFixture,
    ReviewFixture,
    UserGemsPerson,
    WinBackFixture,
    fixture_churn_date,
)
from revsched.localorg.demo.vocabulary import CITIES, MAX_ACCOUNTS

# Accounts are generated and inserted this many at a time, which bounds memory.
BATCH_ACCOUNTS = 1000


class DemoGenerator(AccountGenerator):
    """Yields the demo org as batches of drafts; all randomness comes from one seeded RNG."""

    def __init__(self, directory: Directory, *, accounts: int, seed: int, today: date) -> None:
        if not 0 <= accounts <= MAX_ACCOUNTS:
            raise ValueError(f"accounts must be between 0 and {MAX_ACCOUNTS}, got {accounts}")
        super().__init__(directory, seed=seed, today=today)
        self.accounts = accounts

    # Batches ------------------------------------------------------------------------

    def batches(self) -> Iterator[tuple[list[AccountDraft], list[LeadDraft]]]:
        """Account and lead drafts, BATCH_ACCOUNTS accounts at a time; the win-back fixtures
        come first, the account-review and renewal-sla ones last (so adding them left
        every other record as it was)."""
        yield [self._win_back_fixture(f) for f in WIN_BACK_FIXTURES], []
        for start in range(0, self.accounts, BATCH_ACCOUNTS):
            size = min(BATCH_ACCOUNTS, self.accounts - start)
            accounts = [self._account(kind) for kind in self._kinds(size)]
            yield accounts, self._lead_batch(size)
        reviews = [self._review_fixture(i, f) for i, f in enumerate(REVIEW_FIXTURES)]
        yield reviews + [self._renewal_fixture(f) for f in RENEWAL_FIXTURES], []
        yield [self._alignment_fixture(f) for f in ALIGNMENT_FIXTURES], []

    # The plays' fixtures ---------------------------------------------------------

    def _win_back_fixture(self, fixture: WinBackFixture) -> AccountDraft:
        company = Company(fixture.name, company_domain(fixture.name), fixture.industry, CITIES[0])
        sdr = self.users[fixture.sdr] if fixture.sdr else None
        return self._churned(
            company,
            fixture_churn_date(fixture, self.today),
            fixture.loss_reason,
            owner=self.users[fixture.owner],
            sdr=sdr,
            primary_contact=fixture.primary_contact,
        )

    def _review_fixture(self, index: int, fixture: ReviewFixture) -> AccountDraft:
        company = Company(fixture.name, company_domain(fixture.name), "Software", CITIES[1])
        owner = self.aes[index % len(self.aes)]
        draft = AccountDraft(self._base_account(company, "Prospect", owner, fixture.assigned_days))
        draft.account.update(
            Account_Status__c="Prospect", AE__c=owner, Buying_Stage__c="Evaluation"
        )
        if fixture.review_days is not None:
            draft.account.update(
                Add_Drop_Request__c="Needs Review",
                Needs_Review_Date__c=self._day(-fixture.review_days),
            )
        draft.contacts = self._contacts(company, owner, 2)
        if fixture.activity_days is not None:
            draft.activities.append(self._task(owner, -fixture.activity_days, done=True))
        return draft

    def _renewal_fixture(self, fixture: RenewalFixture) -> AccountDraft:
        """A customer as `_customer` makes one, its renewal moved to the fixture's day and stage."""
        draft = self._customer(
            Company(fixture.name, company_domain(fixture.name), "Manufacturing", CITIES[2])
        )
        renewal_date = self._day(fixture.days_to_renewal)
        draft.account["Renewal_Date__c"] = renewal_date
        draft.opportunities[-1].fields.update(
            StageName=fixture.stage, CloseDate=renewal_date, Renewal_Date__c=renewal_date
        )
        return draft

    def overage_fixture(self, fixture: OverageFixture) -> AccountDraft:
        """A customer as `_customer` makes one, its usage and overage set to the fixture's."""
        draft = self.named_account(fixture.name, "Customer")
        draft.account.update(
            Users_In_Contract__c=fixture.contract,
            Users_Routed__c=fixture.routed,
            Overage_Start_Date__c=None
            if fixture.since_days is None
            else self._day(-fixture.since_days),
            Price_Per_User__c=fixture.price_per_user,
        )
        return draft

    def named_account(self, name: str, kind: str) -> AccountDraft:
        """A customer or partner as the generator makes them, under a fixture's name."""
        company = Company(name, company_domain(name), "Software", CITIES[3])
        return self._customer(company) if kind == "Customer" else self._partner(company)

    def won_deal(self, draft: AccountDraft, days_ago: int) -> OpportunityDraft:
        """A New Business deal the account's owner won `days_ago` days ago."""
        name = str(draft.account["Name"])
        company = Company(name, company_domain(name), "Software", CITIES[3])
        owner = str(draft.account["OwnerId"])
        return self._opportunity(company, "New Business", "Closed Won", owner, -days_ago)

    def status_lead(self, fixture: LeadStatusFixture) -> LeadDraft:
        """A lead for the lead-status-hygiene fixtures."""
        company = Company(fixture.company, company_domain(fixture.company), "Software", CITIES[3])
        [(first, last)] = self._people(1)
        owners = {
            "sdr": self.sdrs[0],
            "ae": self.aes[0],
            "queue": self.queues[HOLDING_QUEUE],
            "marketing": self.revops,
        }
        owner = owners[fixture.owner]
        draft = LeadDraft(
            {
                "FirstName": first,
                "LastName": last,
                "Company": company.name,
                "Email": f"{first}.{last}@{company.domain}".lower(),
                "Website": f"www.{company.domain}",
                "Status": fixture.status,
                "Remarket_Reason__c": fixture.reason,
                "Status_Date__c": self._day(-fixture.since_days),
                "LeadSource": "Web",
                "OwnerId": owner,
                "Actively_Being_Sequenced__c": fixture.sequenced,
                "CreatedDate": self.created_at(fixture.since_days + 30),
            }
        )
        for due, done, whose in fixture.tasks:
            task_owner = owner if whose == "owner" else self.sdrs[1]
            draft.tasks.append(self._task(task_owner, due, done=done).fields)
        return draft

    def _alignment_fixture(self, fixture: AlignmentFixture) -> AccountDraft:
        company = Company(fixture.name, company_domain(fixture.name), "Software", CITIES[3])
        owner = self.users[fixture.owner]
        draft = AccountDraft(self._base_account(company, "Prospect", owner, 120))
        # In a buying decision: account-review leaves these accounts alone.
        draft.account.update(Account_Status__c="Prospect", AE__c=owner, Buying_Stage__c="Decision")
        draft.contacts = [
            {**contact, **fields, "OwnerId": self.users[contact_owner]}
            for contact, (contact_owner, fields) in zip(
                self._contacts(company, owner, len(fixture.contacts)), fixture.contacts, strict=True
            )
        ]
        return draft

    def usergems_fixtures(self) -> tuple[list[AccountDraft], list[LeadDraft]]:
        """The accounts people changed jobs into, and the people as UserGems delivers them."""
        drafts: dict[str, AccountDraft] = {}
        for fixture in USERGEMS_ACCOUNTS:
            company = Company(fixture.name, company_domain(fixture.name), "Software", CITIES[4])
            owner = self.users[fixture.owner]
            draft = AccountDraft(self._base_account(company, fixture.kind, owner, 200))
            draft.account.update(
                SDR__c=self.users[fixture.sdr] if fixture.sdr else None,
                CSM__c=self.users[fixture.csm] if fixture.csm else None,
                Account_Assigned_Reason__c=None if fixture.owner == "revops" else "SDR Named",
                Account_Status__c="Active" if fixture.kind == "Customer" else "Prospect",
                Buying_Stage__c="Decision",
            )
            draft.contacts = self._contacts(company, owner, 2)
            for contact in draft.contacts:
                contact["OwnerId"] = owner
            if fixture.open_deal:
                draft.opportunities.append(self._new_business(company, owner, draft.contacts))
            drafts[fixture.name] = draft
        leads: list[LeadDraft] = []
        for person in USERGEMS_PEOPLE:
            record = self._usergems_person(person)
            if person.contact_of:
                drafts[person.contact_of].contacts.append(record)
            else:
                leads.append(LeadDraft({**record, **self._usergems_company(person)}))
        return list(drafts.values()), leads

    @staticmethod
    def _usergems_company(person: UserGemsPerson) -> DraftRecord:
        """A lead's company as UserGems fills it in: the account's name and website for a
        work address, the given company name for a personal one."""
        names = {company_domain(a.name): a.name for a in USERGEMS_ACCOUNTS}
        if person.company:
            return {"Company": person.company, "Status": "Open"}
        company = names.get(person.domain, person.domain.split(".")[0].title())
        return {"Company": company, "Website": f"www.{person.domain}", "Status": "Open"}

    def _usergems_person(self, person: UserGemsPerson) -> DraftRecord:
        delivered = self.created_at(person.delivered)
        company = Company(person.domain, person.domain, "Software", CITIES[4])
        return {
            "Phone": self._phone(company),
            "FirstName": person.first,
            "LastName": person.last,
            "Title": "Vice President of Sales",
            "Email": f"{person.first}.{person.last}@{person.domain}".lower(),
            "OwnerId": self.users["integration"],
            "LeadSource": "UserGems",
            "CreatedDate": delivered,
            "LastModifiedDate": delivered,
            "UserGems__Created_By_UG__c": True,
            "UserGems__Past_Relationship_Type__c": person.relationship,
            "UserGems__Job_Start_Date__c": self._day(-person.started),
            "UserGems__Past_Account__c": "Harbor Labs",
            "UserGems__Past_Account_Type__c": "Customer",
            "UserGems__Past_Title__c": "Director of Sales",
            **(
                {"UserGems__No_Longer_at_Company__c": self._day(-person.left)}
                if person.left is not None
                else {}
            ),
            **person.fields,
        }
