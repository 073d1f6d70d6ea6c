import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { join } from "node:path";
// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import type { Page, Response } from "npm:playwright-core@1.65.1";
import { browserTest, COLOR_SCHEMES, measureContrast, WatchedPage } from "./support/browser.ts";
import { get, rawRequest } from "./support/http.ts";
import { startServer } from "./support/server.ts";

/** WCAG 2 level AA for normal text. */
const MIN_CONTRAST = 4.5;

browserTest("the hello page shows Hello! and Salutations ! in light and dark", async (browser) => {
  await using server = await startServer();
  const backgrounds = new Set<string>();
  for (const colorScheme of COLOR_SCHEMES) {
    await using watched = await WatchedPage.open(browser, { colorScheme });
    watched.allowOrigin(server.url);
    const { page } = watched;
    const response = await page.goto(server.url);
    equal(response?.status(), 200);
    equal(await page.title(), "Hello! · salut");
    await page.getByRole("heading", { level: 1, name: "Hello!", exact: true }).waitFor();
    const salutations = page.getByText("Salutations !", { exact: true });
    ok(await salutations.isVisible(), "Salutations ! is visible");
    equal(await salutations.getAttribute("lang"), "fr");
    await assertAccessible(watched);
    backgrounds.add((await measureContrast(page, "h1"))[0]!.background);
    await assertIconsServed(watched);
    await watched.screenshot("hello");
    watched.assertClean();
  }
  equal(backgrounds.size, 2, "the dark scheme has its own background");
});

browserTest(
  "a missing path shows the 404 page with status 404 and a link home",
  async (browser) => {
    await using server = await startServer();
    const missing = new URL("/no/such/page.html", server.url).href;
    for (const colorScheme of COLOR_SCHEMES) {
      await using watched = await WatchedPage.open(browser, { colorScheme });
      watched.allowOrigin(server.url);
      watched.expectStatus(missing, 404);
      const { page } = watched;
      const response = await page.goto(missing);
      equal(response?.status(), 404);
      await page.getByRole("heading", { level: 1, name: "Oops!", exact: true }).waitFor();
      ok(await page.getByText("Sorry, I don't know what you're asking for.").isVisible());
      await assertAccessible(watched);
      // The page is served at any depth, so its links must not be relative.
      await assertIconsServed(watched);
      await watched.screenshot("404");
      equal((await follow(page, "Back to the hello page")).status(), 200);
      equal(page.url(), server.url);
      await page.getByRole("heading", { level: 1, name: "Hello!", exact: true }).waitFor();
      watched.assertClean();
    }
  },
);

browserTest("the hello page's links lead where they say", async (browser) => {
  await using server = await startServer();
  await using watched = await WatchedPage.open(browser);
  watched.allowOrigin(server.url);
  const { page } = watched;
  const missing = new URL("/no-such-page", server.url).href;
  watched.expectStatus(missing, 404);
  await page.goto(server.url);

  equal((await follow(page, "/no-such-page")).status(), 404);
  equal(page.url(), missing);
  await page.getByRole("heading", { level: 1, name: "Oops!", exact: true }).waitFor();
  await page.goBack();

  // /sleep blocks a worker, then answers what / answers.
  equal((await follow(page, "/sleep?ms=2000")).status(), 200);
  equal(page.url(), new URL("/sleep?ms=2000", server.url).href);
  await page.getByRole("heading", { level: 1, name: "Hello!", exact: true }).waitFor();

  // The status page is built elsewhere; the hello page must point at its documented path.
  equal(
    await page.getByRole("link", { name: "/_salut/status" }).getAttribute("href"),
    "/_salut/status",
  );
  watched.assertClean();
});

/** The site a listing is shown of: paths and their text. */
const LISTED_SITE: Record<string, string> = {
  "docs/guide.txt": "A guide inside a folder.\n",
  "hello.txt": "Hello from a file!\n",
  "notes & ideas.txt": "Notes, with a space and an &.\n",
  // A name that looks like an HTML entity, and one outside ASCII: their links must work too.
  "Q&amp;A.txt": "Questions and answers.\n",
  "café.txt": "Un café, s'il vous plaît.\n",
  ".secret": "hidden\n",
};

browserTest("a directory listing shows its entries and its links open them", async (browser) => {
  const root = await Deno.makeTempDir({ prefix: "salut-browser-" });
  try {
    await Deno.mkdir(join(root, "docs"));
    for (const [path, text] of Object.entries(LISTED_SITE)) {
      await Deno.writeTextFile(join(root, path), text);
    }
    await using server = await startServer({ args: ["--root", root] });

    for (const colorScheme of COLOR_SCHEMES) {
      await using watched = await WatchedPage.open(browser, { colorScheme });
      watched.allowOrigin(server.url);
      const { page } = watched;
      equal((await page.goto(server.url))?.status(), 200);
      equal(await page.title(), "Index of /");
      // Folders first, then files by name; dotfiles are not listed.
      deepEqual(await page.locator("tbody a").allTextContents(), [
        "docs/",
        "café.txt",
        "hello.txt",
        "notes & ideas.txt",
        "Q&amp;A.txt",
      ]);
      await watched.screenshot("listing");
      watched.assertClean();
    }

    await using watched = await WatchedPage.open(browser);
    watched.allowOrigin(server.url);
    // Chromium asks for /favicon.ico when it shows a document that names no icon (the text
    // files here), and this site has none: a 404 is the right answer.
    watched.expectStatus(new URL("/favicon.ico", server.url).href, 404);
    const { page } = watched;
    await page.goto(server.url);
    equal((await follow(page, "docs/")).status(), 200);
    equal(sitePath(page), "/docs/");
    await page.getByRole("heading", { name: "Index of /docs/" }).waitFor();
    equal((await follow(page, "guide.txt")).status(), 200);
    equal(sitePath(page), "/docs/guide.txt");
    equal(await page.locator("pre").textContent(), LISTED_SITE["docs/guide.txt"]);
    await page.goBack();
    equal((await follow(page, "../")).status(), 200);
    equal(sitePath(page), "/");

    for (const name of ["hello.txt", "notes & ideas.txt", "Q&amp;A.txt", "café.txt"]) {
      await page.goto(server.url);
      const response = await follow(page, name);
      equal(sitePath(page), `/${name}`);
      equal(response.status(), 200);
      equal(await page.locator("pre").textContent(), LISTED_SITE[name]);
    }
    watched.assertClean();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * Checks what assistive technology relies on: a document language, one `main` landmark, one
 * `h1`, and text that contrasts enough with its background in the current colour scheme.
 */
async function assertAccessible(watched: WatchedPage): Promise<void> {
  const { page } = watched;
  equal(await page.locator("html").getAttribute("lang"), "en");
  equal(await page.getByRole("main").count(), 1, "one main landmark");
  equal(await page.locator("h1").count(), 1, "one h1");
  const low = (await measureContrast(page, "h1, h2, p, li, a, code, footer"))
    .filter((sample) => sample.ratio < MIN_CONTRAST)
    .map((s) => `${s.element}: ${s.color} on ${s.background} = ${s.ratio.toFixed(2)}`);
  deepEqual(low, [], `contrast below ${MIN_CONTRAST} in the ${watched.colorScheme} scheme`);
}

/**
 * Checks that every icon the page links to is served as an image, and so is `/favicon.ico`,
 * which browsers ask for on documents that name no icon (a text file, `/_salut/status.json`).
 */
async function assertIconsServed(watched: WatchedPage): Promise<void> {
  const { page } = watched;
  const hrefs = await page.locator('link[rel="icon"]').evaluateAll((links) =>
    links.map((link) => (link as unknown as { href: string }).href)
  );
  notEqual(hrefs.length, 0, "the page names its icon, so browsers do not ask for /favicon.ico");
  for (const href of hrefs) {
    const response = await page.request.get(href);
    equal(response.status(), 200, href);
    equal(response.headers()["content-type"], "image/svg+xml", href);
    await response.dispose();
  }
  const ico = await page.request.get(new URL("/favicon.ico", page.url()).href);
  equal(ico.status(), 200, "/favicon.ico");
  ok(/^image\/(x-icon|vnd\.microsoft\.icon)$/.test(ico.headers()["content-type"] ?? ""));
  await ico.dispose();
}

/** Clicks the link named `name` and waits until the page it opens has loaded. */
async function follow(page: Page, name: string): Promise<Response> {
  const response = page.waitForResponse((response) =>
    response.request().isNavigationRequest() && response.frame() === page.mainFrame()
  );
  await page.getByRole("link", { name, exact: true }).click();
  const answered = await response;
  await page.waitForLoadState();
  return answered;
}

/** The decoded path of the page's URL. */
function sitePath(page: Page): string {
  return decodeURIComponent(new URL(page.url()).pathname);
}

browserTest(
  "the status page shows every worker, one turning busy during a /sleep and coming back",
  async (browser) => {
    await using server = await startServer({ args: ["--workers", "3"] });
    for (const colorScheme of COLOR_SCHEMES) {
      await using watched = await WatchedPage.open(browser, { colorScheme });
      watched.allowOrigin(server.url);
      const { page } = watched;
      const response = await page.goto(new URL("/_salut/status", server.url).href);
      equal(response?.status(), 200);
      await page.locator("tr[data-worker]").nth(2).waitFor();
      equal(await page.locator("tr[data-worker]").count(), 3);
      // /sleep is on for the bundled site, so the page invites the reader to try it.
      equal(await page.locator('a[href="/sleep?ms=3000"]').count(), 1);
      await page.locator('tr[data-state="idle"]').nth(2).waitFor();

      // A request in another "tab": the page polls and shows the worker it blocks.
      const sleeping = rawRequest(server.port, get("/sleep?ms=1500"));
      // Method and path only: the query string is not shown without --status-queries.
      const busy = page.locator('tr[data-state="busy"]', { hasText: "GET /sleep" });
      await busy.waitFor();
      equal(await busy.count(), 1);
      equal(await page.locator("#busy").textContent(), "1");
      await watched.screenshot("status");
      equal((await sleeping).status, 200);
      await busy.waitFor({ state: "detached" });
      await page.locator('tr[data-state="idle"]').nth(2).waitFor();
      watched.assertClean();
    }
  },
);

browserTest(
  "with --root, the status page loads with no failed request or console error, and no /sleep link",
  async (browser) => {
    const root = await Deno.makeTempDir({ prefix: "salut-browser-status-" });
    try {
      // A site of its own, without favicon.svg or favicon.ico.
      await Deno.writeTextFile(join(root, "index.html"), "<!DOCTYPE html><title>Mine</title>\n");
      await using server = await startServer({ args: ["--root", root, "--workers", "2"] });
      for (const colorScheme of COLOR_SCHEMES) {
        await using watched = await WatchedPage.open(browser, { colorScheme });
        watched.allowOrigin(server.url);
        const { page } = watched;
        const status = await page.goto(new URL("/_salut/status", server.url).href);
        equal(status?.status(), 200);
        await page.locator("tr[data-worker]").nth(1).waitFor();
        // A second poll, so that every request the page makes has been made at least once.
        await page.waitForResponse((response) => response.url().endsWith("/_salut/status.json"));
        equal(await page.locator('a[href*="sleep"]').count(), 0);
        equal(await page.getByText("/sleep").count(), 0);
        const icon = await page.locator('link[rel="icon"]').getAttribute("href");
        ok(icon?.startsWith("data:image/svg+xml,"), String(icon));
        watched.assertClean();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

browserTest("a listing of 20 000 entries renders whole, with no console error", async (browser) => {
  const root = await Deno.makeTempDir({ prefix: "salut-browser-big-" });
  try {
    const count = 20_000;
    const big = join(root, "big");
    Deno.mkdirSync(big);
    // One in ten a directory, like a documentation tree; the files empty.
    for (let i = 0; i < count; i++) {
      if (i % 10 === 0) Deno.mkdirSync(join(big, `directory-${i}`));
      else Deno.writeFileSync(join(big, `file-${i}.txt`), new Uint8Array());
    }
    await using server = await startServer({ args: ["--root", root, "--quiet"] });
    await using watched = await WatchedPage.open(browser);
    watched.allowOrigin(server.url);
    const { page } = watched;
    const response = await page.goto(new URL("/big/", server.url).href);
    equal(response?.status(), 200);
    equal(await page.title(), "Index of /big/");
    // Every entry, plus the row for ../
    equal(await page.locator("tbody tr").count(), count + 1);
    equal(await page.locator('tbody a[href="./directory-0/"]').count(), 1);
    equal(await page.locator(`tbody a[href="./file-${count - 1}.txt"]`).count(), 1);
    equal((await page.locator("footer").textContent())?.startsWith(`${count} entries`), true);
    // Folders first, in numeric order.
    deepEqual(
      await page.locator("tbody a").evaluateAll((links) =>
        links.slice(1, 4).map((link) => (link as unknown as { textContent: string }).textContent)
      ),
      ["directory-0/", "directory-10/", "directory-20/"],
    );
    watched.assertClean();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
