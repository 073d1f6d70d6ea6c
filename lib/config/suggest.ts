/**
 * "Did you mean …?": the known name closest to a mistyped one, for flags and config file keys.
 *
 * @module
 */

/**
 * The name of `names` closest to `typed`, if one is close enough to be what was meant: a prefix
 * of three letters or more, or a few letters off.
 *
 * @example
 * ```ts
 * import { suggestName } from "./suggest.ts";
 * suggestName("rewrite", ["rewrites", "redirects"]); // "rewrites"
 * suggestName("zzz", ["rewrites"]); // undefined
 * ```
 */
export function suggestName(typed: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = name.startsWith(typed) && typed.length >= 3 ? 1 : editDistance(typed, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
