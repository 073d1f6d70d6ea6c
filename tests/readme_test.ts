import { equal, ok } from "node:assert/strict";
import { FLAGS } from "../lib/config/flags.ts";
import { flagsMarkdown } from "../lib/config/help.ts";
import { normalizeTable, section } from "../scripts/readme.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

Deno.test("README.md's flag table is the one generated from lib/config/flags.ts (deno task readme)", () => {
  equal(normalizeTable(section(README, "flags")), normalizeTable(flagsMarkdown()));
  for (const name of Object.keys(FLAGS)) {
    ok(README.includes(`--${name}`) || README.includes(`--[no-]${name}`), name);
  }
});

Deno.test("README.md starts with the two commands that work with only Node and npm", () => {
  const firstBlock = README.slice(
    README.indexOf("```sh"),
    README.indexOf("```", README.indexOf("```sh") + 5),
  );
  ok(firstBlock.includes("npx -y deno@2.9.6 task start"));
  ok(firstBlock.includes("npx -y deno@2.9.6 task test"));
});
