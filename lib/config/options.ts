/**
 * The configuration from values a program gives (the library's options object), row by row of
 * {@linkcode FLAGS} as `parse.ts` does for text: each given value is checked against its row's
 * range and choices, the others take the row's default, derived ones last.
 *
 * @module
 */

import { openFileLimit } from "../descriptors.ts";
import { ConfigError } from "./errors.ts";
import {
  type Config,
  type DerivedDefault,
  type Flag,
  flagEntries,
  type FlagKind,
  FLAGS,
  type KindValues,
  showValue,
} from "./flags.ts";
import { type ParseOptions, suggestFlag } from "./parse.ts";
import { parseAllowedHosts, parseHeader, parseTrustedProxies } from "./values.ts";

/** A setting's value as a program gives it: a number in the flag's unit (ms, bytes) for numbers. */
export type FlagValue = boolean | number | string | string[] | [string, string][];

/**
 * Values by flag name (`"max-body"`, `"cors"`). Names are checked when read, not typed: the
 * rows of {@linkcode FLAGS} are the one list of them.
 */
export type FlagValues = { readonly [name: string]: FlagValue | undefined };

/**
 * The configuration with `values` given and every other row's default. Throws
 * {@linkcode ConfigError} naming the option for a value of the wrong type or out of range.
 *
 * @example
 * ```ts
 * import { configFromValues } from "./options.ts";
 * const config = configFromValues({ port: 0, host: "0.0.0.0" });
 * config.status; // false: the status page stays off beyond loopback, as with --host
 * ```
 */
export function configFromValues(values: FlagValues, options: ParseOptions = {}): Config {
  for (const name of Object.keys(values)) {
    if (!Object.hasOwn(FLAGS, name)) {
      const suggestion = suggestFlag(name);
      throw new ConfigError(
        `Unknown option ${name}` + (suggestion ? `; did you mean ${suggestion}?` : ""),
      );
    }
  }
  // Every field is stored by exactly one row, as in parseConfig.
  const config = { limits: {}, timeouts: {} } as Config;
  const derived: [Flag, DerivedDefault<KindValues[FlagKind] | undefined>][] = [];
  for (const [name, flag] of flagEntries()) {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value !== undefined) {
      flag.set(config, checked(name, flag, value));
    } else if (typeof flag.default === "function") {
      derived.push([flag, flag.default]);
    } else {
      flag.set(config, flag.default);
    }
  }
  const context = { openFileLimit: options.openFileLimit ?? openFileLimit };
  for (const [flag, derive] of derived) flag.set(config, derive(config, context));
  return config;
}

/** `value` if it fits `flag`'s kind, range and choices; else a {@linkcode ConfigError}. */
function checked(name: string, flag: Flag, value: unknown): KindValues[FlagKind] {
  const wrong = (expected: string) =>
    new ConfigError(`Option ${name} must be ${expected}, got ${JSON.stringify(value)}`);
  switch (flag.kind) {
    case "boolean":
      if (typeof value !== "boolean") throw wrong("true or false");
      return value;
    case "string":
      if (typeof value !== "string" || value === "") throw wrong("a non-empty string");
      if (flag.choices && !flag.choices.includes(value)) {
        throw wrong(`one of ${flag.choices.join(", ")}`);
      }
      return value;
    case "hosts":
      // The names are checked as --allowed-hosts checks them.
      if (!Array.isArray(value) || !value.every((host) => typeof host === "string")) {
        throw wrong("an array of host names");
      }
      return parseAllowedHosts(value.join(","), `Option ${name}`);
    case "proxies":
      // Checked as --trust-proxy checks them.
      if (!Array.isArray(value) || !value.every((proxy) => typeof proxy === "string")) {
        throw wrong('an array of addresses or CIDR blocks, like ["10.0.0.0/8", "loopback"]');
      }
      return parseTrustedProxies(value.join(","), `Option ${name}`);
    case "headers":
      if (!Array.isArray(value) || !value.every(isPair)) {
        throw wrong('an array of [name, value] pairs, like [["x-frame-options", "DENY"]]');
      }
      return value.map(([field, text]) => parseHeader(`${field}: ${text}`, `Option ${name}`));
    case "integer":
    case "size":
    case "duration": {
      const unit = { integer: "an integer", size: "a whole number of bytes", duration: "ms" };
      if (!Number.isInteger(value)) throw wrong(unit[flag.kind]);
      const number = value as number;
      const { min, max, kind } = flag;
      if ((min !== undefined && number < min) || (max !== undefined && number > max)) {
        const from = showValue(kind, min ?? 0);
        const to = showValue(kind, max ?? Infinity);
        throw new ConfigError(
          `Option ${name} must be from ${from} to ${to}, got ${showValue(kind, number)}`,
        );
      }
      return number;
    }
  }
}

function isPair(value: unknown): value is [string, string] {
  return Array.isArray(value) && value.length === 2 &&
    value.every((part) => typeof part === "string");
}
