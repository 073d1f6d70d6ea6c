import { deepEqual, equal, ok } from "node:assert/strict";
import { Kind, LSTAT_CHUNK, LstatBatch } from "../lib/static/lstat_batch.ts";
import {
  lstatHelperRunning,
  lstatNames,
  SHARED_LSTAT_MIN,
  sharedLstatBatches,
  startLstats,
  stopLstatHelper,
} from "../lib/static/lstat_helper.ts";
import { readListing } from "../lib/static/listing.ts";
import { denoFs, lstatsNatively, type SiteFs } from "../lib/static/fs.ts";
import { waitUntil } from "./support/deadline.ts";

/** A directory holding `a.txt` (3 bytes) and `sub/`, as a path ending with `/`. */
async function smallDirectory(): Promise<string> {
  const directory = await Deno.makeTempDir({ prefix: "salut-lstat-" });
  await Deno.writeTextFile(`${directory}/a.txt`, "abc");
  await Deno.mkdir(`${directory}/sub`);
  return `${directory}/`;
}

/** What a batch says of each name, as `kind size` strings. */
function described(batch: LstatBatch): string[] {
  return Array.from(
    batch.kinds,
    (kind, i) => `${kind} ${kind === Kind.file ? batch.sizes[i] : ""}`,
  );
}

Deno.test("LstatBatch: kinds, sizes and times of files, directories, others and missing names", async () => {
  const prefix = await smallDirectory();
  try {
    const batch = new LstatBatch(3);
    equal(batch.work(prefix, ["a.txt", "sub", "gone"], Deno.lstatSync), 3);
    deepEqual(Array.from(batch.kinds), [Kind.file, Kind.directory, Kind.missing]);
    equal(batch.sizes[0], 3);
    equal(batch.mtimes[0], Deno.lstatSync(`${prefix}a.txt`).mtime!.getTime());
    ok(batch.finished);
    const device = new LstatBatch(1);
    device.work("/dev/", ["null"], Deno.lstatSync);
    equal(device.kinds[0], Kind.other);
  } finally {
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("LstatBatch: a chunk claimed elsewhere and never finished is waited for, then statted here", async () => {
  const prefix = await smallDirectory();
  try {
    // One full chunk and one more name: a helper claims the first chunk and stalls in it.
    const names = Array.from({ length: LSTAT_CHUNK + 1 }, (_, i) => (i % 2 ? "sub" : "a.txt"));
    const batch = new LstatBatch(names.length);
    const helperView = new LstatBatch(names.length, batch.buffer);
    const seen: boolean[] = [];
    let stalled = false;
    helperView.work(prefix, names, (path) => {
      if (!stalled) {
        stalled = true;
        equal(batch.work(prefix, names, Deno.lstatSync), 1, "the thread takes the last name");
        seen.push(batch.finished, batch.wait(1));
        batch.finishAlone(prefix, names, Deno.lstatSync);
        seen.push(batch.finished, batch.wait(1));
      }
      return Deno.lstatSync(path);
    });
    deepEqual(seen, [false, false, true, true]);
    deepEqual(
      described(batch),
      names.map((name) => name === "sub" ? `${Kind.directory} ` : `${Kind.file} 3`),
    );
  } finally {
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("lstatNames() shares a batch with the helper from SHARED_LSTAT_MIN names, not below", async () => {
  const prefix = await smallDirectory();
  try {
    for (const count of [SHARED_LSTAT_MIN - 1, SHARED_LSTAT_MIN]) {
      const names = Array.from({ length: count }, (_, i) => ["a.txt", "sub", "gone"][i % 3]!);
      const before = sharedLstatBatches();
      const batch = lstatNames(prefix, names, { lstat: Deno.lstatSync, shared: true });
      equal(sharedLstatBatches() - before, count >= SHARED_LSTAT_MIN ? 1 : 0, `${count} names`);
      const alone = new LstatBatch(count);
      alone.work(prefix, names, Deno.lstatSync);
      deepEqual(described(batch), described(alone), `${count} names`);
      // Never with a file system of its own (a helper calls Deno's lstat).
      const unshared = sharedLstatBatches();
      lstatNames(prefix, names, { lstat: Deno.lstatSync, shared: false });
      equal(sharedLstatBatches(), unshared);
    }
  } finally {
    stopLstatHelper();
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("lstatNames(): the helper thread stats some of a large batch", async () => {
  const prefix = await smallDirectory();
  try {
    const names = Array.from({ length: 8 * LSTAT_CHUNK }, (_, i) => (i % 2 ? "sub" : "a.txt"));
    const expected = names.map((name) => name === "sub" ? `${Kind.directory} ` : `${Kind.file} 3`);
    // The helper starts with the first batch (deno test type-checks its module first); once it
    // runs, it takes chunks of every batch. This thread stats slowly, so that a helper given
    // little CPU on a busy machine still gets to some.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let here = names.length;
    await waitUntil(
      () => {
        here = 0;
        const batch = lstatNames(prefix, names, {
          lstat: (path) => {
            here++;
            Atomics.wait(pause, 0, 0, 1);
            return Deno.lstatSync(path);
          },
          shared: true,
        });
        deepEqual(described(batch), expected);
        return here < names.length;
      },
      30_000,
      "the helper thread to stat some names",
    );
    ok(here < names.length);
  } finally {
    stopLstatHelper();
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("startLstats(): the helper stats while this thread does something else", async () => {
  const prefix = await smallDirectory();
  try {
    const names = Array.from({ length: 4 * LSTAT_CHUNK }, (_, i) => (i % 2 ? "sub" : "a.txt"));
    const expected = names.map((name) => name === "sub" ? `${Kind.directory} ` : `${Kind.file} 3`);
    let here = 0;
    const pending = startLstats(prefix, names, {
      lstat: (path) => {
        here++;
        return Deno.lstatSync(path);
      },
      shared: true,
    });
    // This thread stats nothing before finish(): the helper does them all meanwhile.
    await waitUntil(() => pending.done, 30_000, "the helper thread to stat every name");
    deepEqual(described(pending.finish()), expected);
    equal(here, 0);
    // Without the helper, nothing is done until finish().
    const alone = startLstats(prefix, names, { lstat: Deno.lstatSync, shared: false });
    equal(alone.done, false);
    deepEqual(described(alone.finish()), expected);
  } finally {
    stopLstatHelper();
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("readListing() lists a directory whole on both sides of SHARED_LSTAT_MIN", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "salut-lstat-listing-" }));
  try {
    for (const count of [SHARED_LSTAT_MIN - 1, SHARED_LSTAT_MIN]) {
      const directory = `${root}/d${count}`;
      Deno.mkdirSync(directory);
      for (let i = 0; i < count; i++) {
        if (i % 10 === 0) Deno.mkdirSync(`${directory}/dir-${i}`);
        else Deno.writeFileSync(`${directory}/file-${i}`, new Uint8Array(i % 7));
      }
      const before = sharedLstatBatches();
      const listed = readListing(directory, { root });
      equal(sharedLstatBatches() - before, count >= SHARED_LSTAT_MIN ? 1 : 0, `${count} entries`);
      equal(listed.length, count);
      for (const entry of listed) {
        const i = Number(entry.name.slice(entry.name.indexOf("-") + 1));
        equal(entry.directory, i % 10 === 0, entry.name);
        equal(entry.size, i % 10 === 0 ? 0 : i % 7, entry.name);
        equal(entry.modified, Deno.lstatSync(`${directory}/${entry.name}`).mtime!.getTime());
      }
    }
  } finally {
    stopLstatHelper();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lstatNames(): the helper thread is stopped after idleMs without a batch, and restarted", async () => {
  const prefix = await smallDirectory();
  try {
    const names = Array.from({ length: SHARED_LSTAT_MIN }, () => "a.txt");
    for (let round = 0; round < 2; round++) {
      lstatNames(prefix, names, { lstat: Deno.lstatSync, shared: true, idleMs: 20 });
      ok(lstatHelperRunning(), `round ${round}`);
      await waitUntil(() => !lstatHelperRunning(), 5_000, "the idle helper to stop");
    }
  } finally {
    stopLstatHelper();
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("readListing() never shares the lstats of a file system of its own with the helper", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "salut-lstat-fake-" }));
  try {
    for (let i = 0; i < SHARED_LSTAT_MIN; i++) {
      Deno.writeFileSync(`${root}/f${i}`, new Uint8Array());
    }
    let calls = 0;
    const fs: SiteFs = { ...denoFs, lstat: (path) => (calls++, denoFs.lstat(path)) };
    ok(lstatsNatively(denoFs));
    equal(lstatsNatively(fs), false);
    const before = sharedLstatBatches();
    equal(readListing(root, { root, fs }).length, SHARED_LSTAT_MIN);
    equal(sharedLstatBatches(), before);
    equal(calls, SHARED_LSTAT_MIN);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
