/**
 * Workload L: a directory listing of many entries (like `/usr/share/doc`), timed to the last
 * byte. salut may reuse a listing for a second while the directory is unchanged, so the cold
 * requests are spaced wider than that and reported apart from back-to-back ones.
 *
 * @module
 */

import { join } from "node:path";
import { get, RawClient } from "../tests/support/http.ts";
import { median } from "./report.ts";
import type { Measurement } from "./types.ts";

/** The generated directory, as the workload needs it. */
export interface ListingDirectory {
  /** Its URL path, ending with `/`. */
  path: string;
  /** How many entries it has. */
  entries: number;
}

/** Sizes of workload L. */
export interface ListingSizes {
  /** Entries in the directory (one in ten a directory, the rest small files). */
  entries: number;
  /** Requests of each kind (cold and back to back). */
  requests: number;
  /** Pause before each cold request, in ms. */
  pauseMs: number;
}

/** Creates `site/dir/` with `entries` entries, readable by all (nginx may run as nobody). */
export async function prepareListing(site: string, entries: number): Promise<ListingDirectory> {
  const directory = join(site, "dir");
  await Deno.mkdir(directory, { mode: 0o755 });
  const content = new TextEncoder().encode("x".repeat(100));
  for (let i = 0; i < entries; i++) {
    if (i % 10 === 0) await Deno.mkdir(join(directory, `directory-${i}`), { mode: 0o755 });
    else {
      await Deno.writeFile(join(directory, `file-${i}.txt`), content.subarray(0, i % 100), {
        mode: 0o644,
      });
    }
  }
  return { path: "/dir/", entries };
}

/**
 * Times `GET dir/` to the last byte: the first request after start, `requests` more each after
 * a pause (cold), then `requests` back to back on one connection (warm). Every answer must be a
 * 200 with a link per entry.
 */
export async function measureListing(
  port: number,
  directory: ListingDirectory,
  sizes: ListingSizes,
): Promise<Measurement> {
  const problems: string[] = [];
  let bytes = 0;
  const timeOne = async (conn: RawClient): Promise<number> => {
    const started = performance.now();
    // nginx sends its listing in chunks.
    const response = await conn.request(get(directory.path), { chunked: true });
    const took = performance.now() - started;
    const text = new TextDecoder().decode(response.body);
    const links = text.split('href="').length - 1;
    if (response.status !== 200) problems.push(`GET ${directory.path} answered ${response.status}`);
    else if (links < directory.entries) {
      problems.push(`GET ${directory.path} listed ${links} links for ${directory.entries} entries`);
    }
    bytes = response.body.length;
    return took;
  };
  const cold: number[] = [];
  for (let i = 0; i <= sizes.requests; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, sizes.pauseMs));
    using conn = await RawClient.connect(port);
    cold.push(await timeOne(conn));
  }
  const warm: number[] = [];
  {
    using conn = await RawClient.connect(port);
    for (let i = 0; i < sizes.requests; i++) warm.push(await timeOne(conn));
  }
  return {
    metrics: {
      firstMs: cold[0]!,
      coldMs: median(cold.slice(1)),
      warmMs: median(warm),
      bytes,
      entries: directory.entries,
    },
    problems,
  };
}
