/**
 * Chromium over HTTPS: the hello page from `--tls-self-signed` (the browser told to accept the
 * self-signed certificate, as a user's exception would), with no console error, over HTTP/1.1;
 * and `--redirect-http` taking the browser from `http://` to the same page over `https://`.
 *
 * @module
 */

import { equal, match, ok } from "node:assert/strict";
import { bannerLines } from "../lib/banner.ts";
import { browserTest, WatchedPage } from "./support/browser.ts";
import { startServer } from "./support/server.ts";

browserTest(
  "Chromium loads the hello page over HTTPS with a self-signed certificate, cleanly",
  async (browser) => {
    await using server = await startServer({
      args: ["--tls-self-signed", "--redirect-http", "0", "--hsts", "60"],
    });
    const url = `https://localhost:${server.port}/`;
    await using watched = await WatchedPage.open(browser, { ignoreHTTPSErrors: true });
    watched.allowOrigin(url);
    const { page } = watched;
    const response = await page.goto(url);
    equal(response?.status(), 200);
    equal(await page.title(), "Hello! · salut");
    await page.getByRole("heading", { level: 1, name: "Hello!", exact: true }).waitFor();
    // The page's own view of the connection (a browser type: not in Deno's library).
    const protocol = await page.evaluate(() =>
      (performance.getEntriesByType("navigation")[0] as unknown as { nextHopProtocol: string })
        .nextHopProtocol
    );
    equal(protocol, "http/1.1");
    equal(response?.headers()["strict-transport-security"], "max-age=60");

    // The plain port sends the browser to the same path over HTTPS.
    const plain = `http://localhost:${server.salut.redirect!.addr.port}/?from=plain`;
    watched.allowOrigin(plain);
    const redirected = await page.goto(plain);
    equal(redirected?.status(), 200);
    equal(page.url(), `https://localhost:${server.port}/?from=plain`);
    await page.getByRole("heading", { level: 1, name: "Hello!", exact: true }).waitFor();
    watched.assertClean();
  },
);

Deno.test("the banner gives https:// URLs over HTTPS and names the redirect port", () => {
  const lines = bannerLines(
    {
      version: "1.0.0",
      host: "0.0.0.0",
      port: 8443,
      root: "/srv",
      bundled: false,
      workers: 2,
      status: true,
      secure: true,
      redirectPort: 8080,
    },
    { interfaces: ["192.168.1.5"] },
  );
  ok(lines.includes("  Local:    https://127.0.0.1:8443/"), lines.join("\n"));
  ok(lines.includes("  Network:  https://192.168.1.5:8443/"), lines.join("\n"));
  ok(lines.includes("  Status:   https://127.0.0.1:8443/_salut/status"), lines.join("\n"));
  match(lines.join("\n"), /Redirect: http on port 8080 → https/);
});
