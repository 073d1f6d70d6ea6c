import { deepEqual, equal } from "node:assert/strict";
import { Deadlines } from "../lib/app/deadlines.ts";
import { waitUntil } from "./support/deadline.ts";

Deno.test("deadlines: one that is not cancelled expires, cancelled ones never do, on one timer", async () => {
  const deadlines = new Deadlines(20);
  const expired: string[] = [];
  const first = deadlines.add(() => expired.push("first"));
  deadlines.add(() => expired.push("second"));
  const third = deadlines.add(() => expired.push("third"));
  first.cancel();
  third.cancel();
  await waitUntil(() => expired.length > 0, 5000, "the second limit to expire");
  // A later one, added after the first expiry, still expires on its own time.
  deadlines.add(() => expired.push("fourth"));
  await waitUntil(() => expired.length > 1, 5000, "the fourth limit to expire");
  deepEqual(expired, ["second", "fourth"]);
  first.cancel(); // cancelling twice, or after expiry, changes nothing
});

Deno.test("deadlines: many cancelled entries are forgotten, and the live ones still expire", async () => {
  const deadlines = new Deadlines(30);
  let expired = 0;
  const keep = deadlines.add(() => expired++);
  for (let i = 0; i < 5000; i++) deadlines.add(() => expired += 1000).cancel();
  await waitUntil(() => expired > 0, 5000, "the live limit to expire");
  equal(expired, 1);
  keep.cancel();
});
