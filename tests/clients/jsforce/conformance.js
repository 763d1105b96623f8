// A second client's opinion of the local org: ordinary jsforce 3 calls against a served
// org, each result printed as one JSON object for tests/localorg/test_jsforce.py to check.
// Usage: node conformance.js INSTANCE_URL ACCESS_TOKEN
"use strict";
const jsforce = require("jsforce");

async function main() {
  const [instanceUrl, accessToken] = process.argv.slice(2);
  const conn = new jsforce.Connection({ instanceUrl, accessToken, version: "62.0" });
  const out = {};
  const account = conn.sobject("Account");

  const created = await account.create(
    Array.from({ length: 250 }, (_, i) => ({
      Name: `JS${String(i).padStart(3, "0")}`,
      Industry: i % 2 ? "Retail" : "Software",
      NumberOfEmployees: i,
    })),
    { allowRecursive: true },
  );
  out.created = created.filter((r) => r.success).length;
  const ids = created.map((r) => r.id);

  const updated = await account.update(ids.slice(0, 10).map((Id) => ({ Id, Industry: "Energy" })));
  out.updated = updated.filter((r) => r.success).length;

  const upserted = await conn.sobject("Task").upsert(
    [{ Subject: "call", Revsched_Key__c: "js-1" }, { Subject: "mail", Revsched_Key__c: "js-2" }],
    "Revsched_Key__c",
  );
  out.upserted = upserted.map((r) => [r.success, r.created]);

  const groups = await conn.query("SELECT Industry, COUNT(Id) n FROM Account GROUP BY Industry ORDER BY Industry");
  out.groups = groups.records.map((r) => [r.Industry, r.n]);

  // The calls the issue found failing: aggregates, FIELDS(), date functions, the GET form
  // of sObject Collections retrieve, the versions and resources lists.
  const [sizes] = (await conn.query("SELECT MAX(NumberOfEmployees) m, SUM(NumberOfEmployees) s FROM Account")).records;
  out.aggregate = [sizes.m, sizes.s];
  const [standard] = (await conn.query(`SELECT FIELDS(STANDARD) FROM Account WHERE Id = '${ids[0]}'`)).records;
  out.fieldsStandard = [standard.Name, standard.NumberOfEmployees, "CreatedDate" in standard];
  out.since2000 = (await conn.query("SELECT COUNT() FROM Account WHERE CALENDAR_YEAR(CreatedDate) >= 2000")).totalSize;

  const retrieved = await account.retrieve(ids.slice(0, 3), { fields: ["Name"] });
  out.retrieved = retrieved.map((r) => r && r.Name);
  const fetched = await conn.request(`/services/data/v62.0/composite/sobjects/Account?ids=${ids[1]},${ids[0]}&fields=Id,Name`);
  out.retrievedGet = fetched.map((r) => r && r.Name);
  out.resources = Object.keys(await conn.request("/services/data/v62.0/")).sort();

  const deleted = await account.destroy(ids.slice(240));
  out.deleted = deleted.filter((r) => r.success).length;

  // How incremental syncs read changes: getUpdated / getDeleted, and queryAll paging
  // through deleted rows (200-row pages).
  const [start, end] = [new Date(Date.now() - 3600e3), new Date(Date.now() + 3600e3)];
  out.getUpdated = (await account.updated(start, end)).ids.length;
  out.getDeleted = (await account.deleted(start, end)).deletedRecords.map((r) => r.id).sort();
  const scanned = await conn.query("SELECT Id, IsDeleted FROM Account ORDER BY Name", {
    scanAll: true,
    autoFetch: false,
    headers: { "Sforce-Query-Options": "batchSize=200" },
  });
  const everything = await conn
    .query("SELECT Id, IsDeleted FROM Account ORDER BY Name", { headers: { "Sforce-Query-Options": "batchSize=200" } })
    .scanAll(true)
    .run({ autoFetch: true, maxFetch: 10000 });
  out.queryAll = {
    firstPage: [scanned.totalSize, scanned.done, scanned.records.length],
    size: everything.records.length,
    deleted: everything.records.filter((r) => r.IsDeleted).map((r) => r.Id).sort(),
  };

  const describe = await account.describe();
  out.describe = { name: describe.name, hasName: describe.fields.some((f) => f.name === "Name") };

  // 2,100 Contacts: a query result of two REST pages, and a Bulk API 2.0 round trip.
  const ingest = await conn.bulk2.loadAndWaitForResults({
    object: "Contact",
    operation: "insert",
    input: Array.from({ length: 2100 }, (_, i) => ({ LastName: `C${String(i).padStart(4, "0")}` })),
    pollInterval: 50,
    pollTimeout: 60000,
  });
  out.bulkIngest = { ok: ingest.successfulResults.length, failed: ingest.failedResults.length };

  const soql = "SELECT LastName FROM Contact ORDER BY LastName";
  const page = await conn.query(soql, { autoFetch: false });
  out.firstPage = { totalSize: page.totalSize, done: page.done, size: page.records.length };
  const all = await conn.query(soql).run({ autoFetch: true, maxFetch: 10000 });
  out.paged = { size: all.records.length, last: all.records[all.records.length - 1].LastName };

  const rows = await (await conn.bulk2.query(soql, { pollInterval: 50 })).toArray();
  out.bulkQuery = { size: rows.length, first: rows[0].LastName };

  out.versions = (await conn.request("/services/data/")).slice(-1)[0].version;
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`${err.name}: ${err.message}\n`);
  process.exit(1);
});
