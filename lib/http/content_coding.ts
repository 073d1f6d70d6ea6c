/**
 * `Accept-Encoding` negotiation (RFC 9110 §12.5.3): which of the codings salut can send a client
 * accepts, and which one to send.
 *
 * The answer depends only on the set of acceptable codings (q > 0), never on their q-values'
 * order: among acceptable ones salut prefers `br`, then `zstd`, then `gzip` (smallest first). So
 * the set, a three-bit mask, is what a cache of replies keys on.
 *
 * When a client refuses identity (`identity;q=0`, or `*;q=0` without naming it) and accepts none
 * of the codings on offer, the answer is identity anyway rather than 406: RFC 9110 §12.5.3 allows
 * it, and a 406 for a static file breaks clients that would have coped with identity.
 *
 * @module
 */

/** The content codings salut sends, in the order it prefers them. */
export const CODINGS = ["br", "zstd", "gzip"] as const;

/** A content coding salut sends. */
export type ContentCoding = typeof CODINGS[number];

/** Bit of each coding in a mask of acceptable codings. */
export const CODING_BIT: Readonly<Record<ContentCoding, number>> = { br: 1, zstd: 2, gzip: 4 };

/** Every coding acceptable. */
export const ALL_CODINGS = 7;

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The mask of codings in {@linkcode CODINGS} that an `Accept-Encoding` value accepts (q > 0).
 * No field accepts nothing but identity (RFC 9110 §12.5.3: a client that sends none may be sent
 * anything, but identity is the safe reading); `*` stands for every coding not named. Tokens are
 * case-insensitive; `x-gzip` is `gzip`. A malformed member (bad token, bad or repeated q) is
 * ignored, never an error.
 *
 * @example
 * ```ts
 * import { acceptedCodings } from "./content_coding.ts";
 * acceptedCodings("gzip, deflate, br, zstd"); // 7
 * acceptedCodings("br;q=0, *"); // 6 (zstd and gzip)
 * acceptedCodings(undefined); // 0
 * ```
 */
export function acceptedCodings(value: string | undefined): number {
  if (value === undefined) return 0;
  let accepted = 0;
  let named = 0;
  let star: boolean | undefined;
  for (const member of value.split(",")) {
    const parsed = parseMember(member);
    if (parsed === undefined) continue;
    const { coding, q } = parsed;
    if (coding === "*") {
      star = q > 0;
      continue;
    }
    const bit = bitOf(coding);
    if (bit === 0) continue;
    named |= bit;
    if (q > 0) accepted |= bit;
    else accepted &= ~bit;
  }
  if (star) accepted |= ALL_CODINGS & ~named;
  return accepted;
}

/**
 * The coding to send: the most preferred of `available` (a mask) that `accepted` (a mask from
 * {@linkcode acceptedCodings}) holds, or `"identity"`.
 *
 * @example
 * ```ts
 * import { chooseCoding } from "./content_coding.ts";
 * chooseCoding(7, 7); // "br"
 * chooseCoding(6, 5); // "gzip"
 * chooseCoding(1, 4); // "identity"
 * ```
 */
export function chooseCoding(accepted: number, available: number): ContentCoding | "identity" {
  const both = accepted & available;
  for (const coding of CODINGS) if (both & CODING_BIT[coding]) return coding;
  return "identity";
}

function bitOf(coding: string): number {
  switch (coding) {
    case "br":
      return CODING_BIT.br;
    case "zstd":
      return CODING_BIT.zstd;
    case "gzip":
    case "x-gzip":
      return CODING_BIT.gzip;
    default:
      return 0;
  }
}

/** One member `coding *( OWS ";" OWS param )`, lower-cased, or undefined when malformed. */
function parseMember(member: string): { coding: string; q: number } | undefined {
  const parts = member.split(";");
  const coding = parts[0]!.trim().toLowerCase();
  if (!TOKEN.test(coding)) return undefined;
  let q: number | undefined;
  for (let i = 1; i < parts.length; i++) {
    const param = parts[i]!.trim();
    const eq = param.indexOf("=");
    if (eq < 0) return undefined;
    const name = param.slice(0, eq).trim().toLowerCase();
    if (name !== "q") continue;
    const text = param.slice(eq + 1).trim();
    if (q !== undefined || !QVALUE.test(text)) return undefined;
    q = Number(text);
  }
  return { coding, q: q ?? 1 };
}
