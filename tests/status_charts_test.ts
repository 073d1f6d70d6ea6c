/**
 * The status page's live charts: requests per second and p99 latency over the last minute,
 * inline SVG drawn from `status.json`'s history, in Chromium with nothing loaded from outside.
 */

import { equal, ok } from "node:assert/strict";
import { browserTest, COLOR_SCHEMES, WatchedPage } from "./support/browser.ts";
import { get, RawClient } from "./support/http.ts";
import { startServer } from "./support/server.ts";

browserTest(
  "the status page charts requests/s and p99 latency once traffic has flowed",
  async (browser) => {
    await using server = await startServer({ args: ["--quiet"] });
    for (const colorScheme of COLOR_SCHEMES) {
      await using watched = await WatchedPage.open(browser, { colorScheme });
      watched.allowOrigin(server.url);
      const { page } = watched;
      equal((await page.goto(new URL("/_salut/status", server.url).href))?.status(), 200);
      for (const id of ["rate-chart", "p99-chart"]) {
        equal(
          await page.locator(`#${id}`).evaluate((node) => node.namespaceURI),
          "http://www.w3.org/2000/svg",
        );
      }
      // Traffic across more than one of the server's one-second ticks.
      await using client = await RawClient.connect(server.port);
      // A string: the page's DOM types are not this file's.
      const drawn = page.waitForFunction(
        `Number(document.querySelector("#rate-chart").dataset.points) > 0 &&
       Number(document.querySelector("#p99-chart").dataset.points) > 0 &&
       document.querySelector("#p99-note").textContent.startsWith("last ")`,
        undefined,
        { timeout: 10_000 },
      );
      let settled = false;
      drawn.then(() => settled = true, () => settled = true);
      for (let i = 0; i < 2000 && !settled; i++) {
        equal((await client.request(get("/"))).status, 200);
      }
      await drawn;
      for (const id of ["rate-chart", "p99-chart"]) {
        const d = await page.locator(`#${id} path.line`).getAttribute("d");
        ok(d && /^M[\d.]+ [\d.]+/.test(d), `${id}: ${d}`);
      }
      const rateNote = await page.locator("#rate-note").textContent();
      ok(/^now [\d.]+\/s · peak [\d.]+\/s$/.test(rateNote ?? ""), rateNote ?? "");
      await watched.screenshot("status-charts");
      watched.assertClean();
    }
  },
);
