/**
 * `--help` and the README's flag table, generated from the rows of {@linkcode FLAGS}.
 *
 * @module
 */

import { envNames, type Flag, FLAG_GROUPS, flagEntries, shownDefault } from "./flags.ts";

/**
 * The `--help` text; `command` is how the user started salut (`salut`, `deno task start`, …),
 * for the usage line and the examples.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * helpText("1.0.0", "deno task start").split("\n")[2]; // "Usage: deno task start [flags] [DIR]"
 * ```
 */
export function helpText(version: string, command = "salut"): string {
  const lines = [
    `salut ${version} — a multithreaded HTTP/1.1 static-site server`,
    "",
    `Usage: ${command} [flags] [DIR]`,
    "",
  ];
  for (const group of FLAG_GROUPS) {
    lines.push(`${group}:`);
    for (const [name, flag] of flagEntries()) {
      if (flag.group !== group) continue;
      const label = `${flag.short ? `-${flag.short}, ` : "    "}${usage(name, flag)}`;
      const shown = shownDefault(flag);
      const details = [
        shown !== undefined ? `default: ${shown}` : "",
        flag.action ? "" : `env: ${envNames(name, flag).join(" or ")}`,
      ].filter(Boolean).join("; ");
      lines.push(`  ${label.padEnd(34)} ${flag.help}${details ? ` (${details})` : ""}`);
    }
    lines.push("");
  }
  lines.push(
    "Sizes take B, KiB or MiB (16KiB); times take ms, s, m, h or d (500ms, 10s, 1h); a bare time",
    "is seconds. A relative DIR is taken from the directory you ran the command in.",
    "",
    "Examples:",
    ...examples([
      [command, "serve the bundled hello site on port 7878"],
      [`${command} ./public -p 8080 --spa`, "serve a single-page app"],
      [`${command} . --host 0.0.0.0 --cache 1h -H "X-Frame-Options: DENY"`, ""],
    ]),
  );
  return lines.join("\n");
}

/**
 * The flags as a Markdown table, for the README (`deno task readme` writes it there and
 * `tests/readme_test.ts` checks it is up to date).
 */
export function flagsMarkdown(): string {
  const rows = ["| Flag | Environment | Default | What it does |", "|---|---|---|---|"];
  for (const [name, flag] of flagEntries()) {
    const short = flag.short ? `, \`-${flag.short}\`` : "";
    const env = flag.action ? "" : envNames(name, flag).map((variable) => `\`${variable}\``)
      .join(", ");
    rows.push(
      `| \`${usage(name, flag).replaceAll('"', "")}\`${short} | ${env} | ${
        shownDefault(flag) ?? ""
      } | ${flag.help.replaceAll("|", "\\|")} |`,
    );
  }
  return rows.join("\n");
}

/** How a flag is written: `--[no-]listing` for a switch with a default, `--port N` otherwise. */
function usage(name: string, flag: Flag): string {
  if (flag.kind === "boolean" && !flag.action) return `--[no-]${name}`;
  return `--${name}${flag.placeholder ? ` ${flag.placeholder}` : ""}`;
}

/** Example lines, their comments aligned in one column. */
function examples(rows: [string, string][]): string[] {
  const width = Math.max(...rows.filter(([, what]) => what).map(([line]) => line.length));
  return rows.map(([line, what]) => `  ${what ? `${line.padEnd(width)}  ${what}` : line}`);
}
