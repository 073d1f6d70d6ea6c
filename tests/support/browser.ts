/**
 * Browser tests: Playwright (`npm:playwright-core`) driving Debian's Chromium, which `.ci/run`
 * installs. Without Chromium, every browser test is reported ignored, with the reason in its
 * name, rather than passed.
 *
 * @module
 */

import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
// Not in deno.json's imports: `deno task` installs those before every task, start included.
// deno-lint-ignore no-import-prefix
import { type Browser, type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.1";

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Chromium's flags. Without the background-networking ones, Chromium keeps calling home, and
 * this closed network refuses those connections; `--no-sandbox` because CI runs as root.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const LOAD_ERROR = /^Failed to load resource: the server responded with a status of (\d{3})\b/;

/** Where screenshots go (git-ignored). */
export const SCREENSHOT_DIR: string = fileURLToPath(new URL("../.screenshots/", import.meta.url));

/** The colour schemes every page is looked at in. */
export const COLOR_SCHEMES = ["light", "dark"] as const;
/** A colour scheme to emulate. */
export type ColorScheme = typeof COLOR_SCHEMES[number];

/** Why browser tests cannot run on this machine, or `undefined` when they can. */
export function chromiumMissing(): string | undefined {
  try {
    if (Deno.statSync(CHROMIUM_PATH).isFile) return undefined;
    return `${CHROMIUM_PATH} is not a file`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `${CHROMIUM_PATH} not found; apt-get install chromium`;
    }
    return `${CHROMIUM_PATH} cannot be checked: ${(error as Error).message}`;
  }
}

/**
 * Registers a test that gets its own Chromium, closed afterwards whatever happens. When
 * Chromium is missing, the test is registered as ignored and its name says why.
 *
 * Playwright launches Chromium with a fresh temporary profile of its own and removes it on
 * close, so no `--user-data-dir` is needed.
 *
 * @example
 * ```ts ignore
 * browserTest("the hello page renders", async (browser) => {
 *   await using watched = await WatchedPage.open(browser, { colorScheme: "dark" });
 * });
 * ```
 */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  const missing = chromiumMissing();
  Deno.test({
    name: missing ? `${name} (ignored: ${missing})` : name,
    ignore: missing !== undefined,
    async fn() {
      const browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: CHROMIUM_ARGS,
      });
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

/** Options for {@linkcode WatchedPage.open}. */
export interface WatchedPageOptions {
  /** The colour scheme the page sees in `prefers-color-scheme`. @default "light" */
  colorScheme?: ColorScheme;
  /** Accept any server certificate (a self-signed one). @default false */
  ignoreHTTPSErrors?: boolean;
}

/**
 * A page in its own browser context that records everything that goes wrong while it is open:
 * console errors, uncaught exceptions, failed requests, error statuses nobody expected, and any
 * request that leaves the origins the test allowed (the pages must work offline).
 */
export class WatchedPage implements AsyncDisposable {
  /** The Playwright page. */
  readonly page: Page;
  /** The colour scheme the page was opened with. */
  readonly colorScheme: ColorScheme;
  /** What went wrong, one line each. */
  readonly problems: string[] = [];
  #context: BrowserContext;
  #expectedStatus = new Map<string, number>();
  #origins = new Set<string>();

  private constructor(context: BrowserContext, page: Page, colorScheme: ColorScheme) {
    this.#context = context;
    this.page = page;
    this.colorScheme = colorScheme;
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const url = message.location().url;
      // Chromium logs every error status it receives, the expected ones included.
      const status = LOAD_ERROR.exec(message.text())?.[1];
      if (status !== undefined && this.#expectedStatus.get(url) === Number(status)) return;
      this.problems.push(`console error: ${message.text()} (${url})`);
    });
    page.on("pageerror", (error) => this.problems.push(`uncaught in page: ${error.message}`));
    page.on("requestfailed", (request) => {
      const reason = request.failure()?.errorText ?? "unknown";
      // The browser aborts a subresource (a favicon) still loading when the test navigates on;
      // that is the test's doing, not the server's. Any other failure is a problem.
      if (reason === "net::ERR_ABORTED" && request.resourceType() !== "document") return;
      this.problems.push(`request failed: ${request.url()}: ${reason}`);
    });
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.protocol === "data:" || url.protocol === "about:") return;
      if (!this.#origins.has(url.origin)) this.problems.push(`external request: ${url.href}`);
    });
    page.on("response", (response) => {
      const expected = this.#expectedStatus.get(response.url()) ?? 200;
      if (response.status() >= 400 && response.status() !== expected) {
        this.problems.push(`status ${response.status()} for ${response.url()}`);
      }
    });
  }

  /** Opens a page in a new context that emulates `colorScheme`. */
  static async open(browser: Browser, options: WatchedPageOptions = {}): Promise<WatchedPage> {
    const colorScheme = options.colorScheme ?? "light";
    const context = await browser.newContext({
      colorScheme,
      ...(options.ignoreHTTPSErrors ? { ignoreHTTPSErrors: true } : {}),
      viewport: { width: 900, height: 700 },
    });
    try {
      return new WatchedPage(context, await context.newPage(), colorScheme);
    } catch (error) {
      await context.close();
      throw error;
    }
  }

  /** Allows requests to the origin of `url` (the server under test). */
  allowOrigin(url: string): void {
    this.#origins.add(new URL(url).origin);
  }

  /** Declares that `url` is meant to answer with an error `status` (e.g. 404 for a missing page). */
  expectStatus(url: string, status: number): void {
    this.#expectedStatus.set(new URL(url).href, status);
  }

  /** Throws, listing every problem, when anything went wrong. */
  assertClean(): void {
    if (this.problems.length > 0) {
      throw new Error(`The page had problems:\n  ${this.problems.join("\n  ")}`);
    }
  }

  /** Saves a full-page screenshot as `tests/.screenshots/NAME-SCHEME.png`; returns its path. */
  async screenshot(name: string): Promise<string> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const path = `${SCREENSHOT_DIR}${name}-${this.colorScheme}.png`;
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  /** Closes the page and its context. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#context.close();
  }
}

/** The text and background colours of one element, with their contrast ratio. */
export interface Contrast {
  /** What was measured, e.g. `p.salutations "Salutations !"`. */
  element: string;
  /** The text colour, as computed. */
  color: string;
  /** The first opaque background behind the element, as computed. */
  background: string;
  /** The WCAG 2 contrast ratio, from 1 to 21. */
  ratio: number;
}

/**
 * Measures the contrast of every element matching `selector` that has text of its own, against
 * the nearest ancestor background that is not transparent.
 */
export async function measureContrast(page: Page, selector: string): Promise<Contrast[]> {
  const samples = await page.locator(selector).evaluateAll(readColors);
  return samples.map((sample) => ({
    ...sample,
    ratio: contrastRatio(parseRgb(sample.color), parseRgb(sample.background)),
  }));
}

// Runs in the page, where the DOM exists; Deno's types do not describe it, hence these.
interface PageElement {
  tagName: string;
  className: string;
  textContent: string | null;
  parentElement: PageElement | null;
}
interface PageWindow {
  getComputedStyle(element: PageElement): { color: string; backgroundColor: string };
}

function readColors(elements: PageElement[]): Omit<Contrast, "ratio">[] {
  const page = globalThis as unknown as PageWindow;
  return elements.map((element) => {
    let background = "";
    for (let at: PageElement | null = element; at && !background; at = at.parentElement) {
      const color = page.getComputedStyle(at).backgroundColor;
      if (color !== "transparent" && !/^rgba\(.*, 0\)$/.test(color)) background = color;
    }
    const name = element.tagName.toLowerCase() + (element.className ? `.${element.className}` : "");
    return {
      element: `${name} "${(element.textContent ?? "").trim().slice(0, 30)}"`,
      color: page.getComputedStyle(element).color,
      background: background || "none",
    };
  });
}

function parseRgb(color: string): [number, number, number] {
  const match = /^rgba?\((\d+), (\d+), (\d+)(?:, 1)?\)$/.exec(color);
  if (!match) throw new SyntaxError(`Cannot parse colour: ${color} (opaque rgb() expected)`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

// WCAG 2.2, "relative luminance" and "contrast ratio" definitions.
function contrastRatio(a: [number, number, number], b: [number, number, number]): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

function luminance(rgb: [number, number, number]): number {
  const [r, g, b] = rgb.map((channel) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
