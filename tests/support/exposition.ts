/**
 * A small parser of the Prometheus text exposition format (0.0.4), strict enough to fail on
 * lines a scraper would refuse: every sample belongs to a family declared by `# TYPE`, names
 * and labels are well formed, values are numbers.
 *
 * @module
 */

/** One sample: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: samples, and each family's type and help. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
  /** The value of the one sample with `name` and (at least) `labels`; throws when not one. */
  value(name: string, labels?: Record<string, string>): number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"\s*(?:,|$)/y;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"];

/** Parses `text`; throws on the first line that is not valid exposition format. */
export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("exposition text must end with a newline");
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (!NAME.test(name!) || !TYPES.includes(type!)) throw new Error(`bad TYPE: ${line}`);
      if (types.has(name!)) throw new Error(`second TYPE for ${name}`);
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith("# HELP ")) {
      const space = line.indexOf(" ", 7);
      help.set(line.slice(7, space), line.slice(space + 1));
      continue;
    }
    if (line.startsWith("#") || line === "") continue;
    const found = SAMPLE.exec(line);
    if (!found) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = found;
    const value = valueText === "+Inf" ? Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") throw new Error(`bad value: ${line}`);
    const labels: Record<string, string> = {};
    if (labelText) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < labelText.length) {
        const label = LABEL.exec(labelText);
        if (!label) throw new Error(`bad labels: ${line}`);
        labels[label[1]!] = label[2]!;
      }
    }
    const family = name!.replace(/_(bucket|sum|count)$/, "");
    if (!types.has(name!) && types.get(family) !== "histogram") {
      throw new Error(`sample of an undeclared family: ${line}`);
    }
    samples.push({ name: name!, labels, value });
  }
  return {
    samples,
    types,
    help,
    value(name, labels = {}) {
      const matching = samples.filter((sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
      );
      if (matching.length !== 1) {
        throw new Error(`${matching.length} samples of ${name} ${JSON.stringify(labels)}`);
      }
      return matching[0]!.value;
    },
  };
}
