// Two people, a relationship, a promise, and an error handled by its code:
//
//   npm ci && npm run build && node dist/example.js http://localhost:8080
import { Troth, TrothError } from "./client.js";

async function main(baseUrl: string): Promise<void> {
  const run = Date.now().toString(36); // fresh emails on every run
  const ana = new Troth(baseUrl);
  const ben = new Troth(baseUrl);
  const a = await ana.register({ email: `ana+${run}@example.com`, password: "correct horse", display_name: "Ana", time_zone: "Europe/Berlin" });
  const b = await ben.register({ email: `ben+${run}@example.com`, password: "battery staple", display_name: "Ben", time_zone: "Europe/Berlin" });
  ana.accessToken = a.access_token;
  ben.accessToken = b.access_token;
  console.log(`registered ${a.user.display_name} (${a.user.id}) and ${b.user.display_name} (${b.user.id})`);

  const rel = await ana.createRelationship({ name: "Ana & Ben", time_zone: "Europe/Berlin", partner_name: "Ben" });
  const invite = await ana.createInvite(rel.id);
  const joined = await ben.acceptInvite(invite.code);
  console.log(`relationship ${rel.id}: ${joined.members.map((m) => m.display_name).join(" & ")}`);

  const due = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString();
  await ana.createPromise(rel.id, { title: "Home by 19:00 on Friday", due_at: due });
  await ana.createPromise(rel.id, {
    title: "Call every Sunday at 20:00",
    recurrence: { rrule: "FREQ=WEEKLY;BYDAY=SU", local_time: "20:00", time_zone: "Europe/Berlin" },
  });
  for (const p of await ben.listPromises(rel.id, { status: "active" })) {
    console.log(`promise ${p.id}: ${p.title} (${p.kind}${p.recurrence ? `, ${p.recurrence.rrule}` : ""})`);
  }

  // A mistake on purpose: troth answers a problem with per-field errors.
  try {
    await ana.createRelationship({ name: "", time_zone: "Mars/Olympus_Mons" });
  } catch (err) {
    if (!(err instanceof TrothError) || err.code !== "validation_failed") throw err;
    for (const f of err.problem.errors ?? []) console.log(`refused as expected: ${f.field} ${f.code}: ${f.message}`);
  }
}

main(process.argv[2] ?? "http://localhost:8080").catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
