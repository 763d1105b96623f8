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
    Array.from({ length: 250 }, (_, i) => ({ Name: `JS${String(i).padStart(3, "0")}`, Industry: i % 2 ? "Retail" : "Software" })),
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

  const retrieved = await account.retrieve(ids.slice(0, 3), { fields: ["Name"] });
  out.retrieved = retrieved.map((r) => r && r.Name);

  const deleted = await account.destroy(ids.slice(240));
  out.deleted = deleted.filter((r) => r.success).length;

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
