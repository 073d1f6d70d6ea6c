/**
 * Rewrites the generated parts of README.md: the flags table (from `lib/config/flags.ts`).
 * Run with `deno task readme`; `tests/readme_test.ts` fails when README.md is out of date.
 *
 * @module
 */

import { flagsMarkdown } from "../lib/config/help.ts";

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceSection(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

/** README.md with its generated sections up to date (before `deno fmt` aligns the tables). */
export function renderReadme(text: string): string {
  return replaceSection(text, "flags", flagsMarkdown());
}

/** The text between a section's markers. */
export function section(text: string, name: string): string {
  const start = `<!-- ${name}:start -->`;
  return text.slice(text.indexOf(start) + start.length, text.indexOf(`<!-- ${name}:end -->`));
}

/** A Markdown table with its cell padding removed, to compare tables whatever their alignment. */
export function normalizeTable(markdown: string): string {
  return markdown.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("|"))
    .map((line) => line.replace(/ *\| */g, "|").replace(/-{3,}/g, "---")).join("\n");
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  Deno.writeTextFileSync(path, renderReadme(Deno.readTextFileSync(path)));
  await new Deno.Command(Deno.execPath(), { args: ["fmt", path.pathname] }).output();
}
