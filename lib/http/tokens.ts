/**
 * The small lexical pieces of HTTP that several parsers share (RFC 9110 §5.6): the `tchar`
 * table, the token test, the field-name pattern, and one-byte-per-character decoding.
 *
 * @module
 */

/** The characters of a token (RFC 9110 §5.6.2), as a string. */
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * `TCHAR[byte] === 1` when `byte` is a tchar (RFC 9110 §5.6.2), 0 otherwise. It has 256
 * entries, so any byte indexes it without a range check.
 *
 * @example
 * ```ts
 * import { TCHAR } from "./tokens.ts";
 * TCHAR[0x41]; // 1: "A"
 * TCHAR[0x20]; // 0: a space
 * ```
 */
export const TCHAR: Uint8Array = new Uint8Array(256);
for (let i = 0; i < TCHARS.length; i++) TCHAR[TCHARS.charCodeAt(i)] = 1;

/**
 * Whether `text` is a token: one or more tchars (RFC 9110 §5.6.2).
 *
 * @example
 * ```ts
 * import { isToken } from "./tokens.ts";
 * isToken("X-Custom"); // true
 * isToken("a b"); // false
 * isToken(""); // false
 * ```
 */
export function isToken(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 256 || TCHAR[code] !== 1) return false;
  }
  return text.length > 0;
}

/**
 * A field name: a token (RFC 9110 §5.1), as a pattern for `test()`.
 *
 * @example
 * ```ts
 * import { FIELD_NAME } from "./tokens.ts";
 * FIELD_NAME.test("Content-Type"); // true
 * FIELD_NAME.test("Bad Name"); // false
 * ```
 */
export const FIELD_NAME: RegExp = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// The WHATWG "latin1" decoder is windows-1252, which differs from ISO-8859-1 only on
// 0x80–0x9F; it is about 30 times faster than String.fromCharCode, so it is used whenever the
// bytes have none of those (all but hostile input).
const WINDOWS_1252 = new TextDecoder("latin1");

/**
 * Decodes `bytes[from..to)` one byte to one character (ISO-8859-1), as HTTP heads are read:
 * every byte shows, none is rejected.
 *
 * @example
 * ```ts
 * import { latin1 } from "./tokens.ts";
 * latin1(new Uint8Array([0x47, 0x45, 0x54, 0x80])); // "GET\x80"
 * latin1(new Uint8Array([0x47, 0x45, 0x54]), 1, 3); // "ET"
 * ```
 */
export function latin1(bytes: Uint8Array, from = 0, to: number = bytes.length): string {
  let exact = true;
  for (let i = from; i < to; i++) {
    const byte = bytes[i]!;
    if (byte >= 0x80 && byte <= 0x9f) {
      exact = false;
      break;
    }
  }
  if (exact) {
    return WINDOWS_1252.decode(
      from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to),
    );
  }
  let text = "";
  // In slices: spreading more than ~100k arguments into one call throws RangeError.
  for (let i = from; i < to; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(i + 8192, to)));
  }
  return text;
}
