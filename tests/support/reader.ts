/**
 * Drives a {@linkcode RequestReader} over bytes that arrive in pieces, as a connection does, and
 * records what it said as plain values that tests can compare.
 *
 * @module
 */

import type { FrameLimits } from "../../lib/http/frame.ts";
import { ReadEvent, RequestReader } from "../../lib/http/reader.ts";

/** What the reader said, with offsets in the input (not in its buffer). */
export type Said =
  | {
    kind: "head";
    /** A copy of the head's bytes. */
    head: Uint8Array;
    /** Offsets in the input: request line, its CRLF, just past the head. */
    start: number;
    lineEnd: number;
    end: number;
    bodyLength: number;
    expectContinue: boolean;
    /** Whether a connection would send `100 Continue` now. */
    sendContinue: boolean;
  }
  /** Consecutive body chunks, joined: how the body was cut into chunks is not compared. */
  | { kind: "body"; data: Uint8Array }
  /** `at`: the input offset just past the message. */
  | { kind: "end"; at: number }
  | { kind: "need-data" }
  | { kind: "input-end" }
  | { kind: "error"; status: number; close: boolean; message: string };

/** Options for {@linkcode drive}. */
export interface DriveOptions {
  limits: FrameLimits;
  /**
   * Input offsets where each arriving piece ends; the last is the input's length whether given
   * or not. @default [input.length]
   */
  ends?: number[];
  /** After the last piece, say the input ended (else stop at `need-data`). @default false */
  inputEnds?: boolean;
  /** Stop after this many messages. @default Infinity */
  messages?: number;
}

/**
 * Feeds `input` to a new reader piece by piece (a piece larger than the reader's free space
 * arrives over several reads, as from a socket) and returns what it said, up to an error, the
 * end of input, a need for data after the last piece, or `messages` messages. Anything the
 * reader throws escapes.
 */
export function drive(input: Uint8Array, options: DriveOptions): Said[] {
  const reader = new RequestReader({ limits: options.limits });
  const ends = [...(options.ends ?? []), input.length].filter((end) => end <= input.length);
  let piece = 0;
  let delivered = 0;
  let messages = 0;
  const said: Said[] = [];
  for (let steps = 0;; steps++) {
    if (steps > 10 * input.length + 1000) throw new Error("The reader does not make progress");
    const event = reader.next();
    switch (event) {
      case ReadEvent.NeedData: {
        while (piece < ends.length && delivered >= ends[piece]!) piece++;
        if (piece === ends.length) {
          if (!options.inputEnds) {
            said.push({ kind: "need-data" });
            return said;
          }
          reader.inputEnded();
          break;
        }
        const space = reader.space();
        if (space.length === 0) throw new Error("NeedData with no space to read into");
        const count = Math.min(space.length, ends[piece]! - delivered);
        space.set(input.subarray(delivered, delivered + count));
        delivered += count;
        reader.filled(count);
        break;
      }
      case ReadEvent.Head: {
        const frame = reader.frame;
        const end = delivered - reader.buffered;
        const start = end - (frame.end - frame.start);
        said.push({
          kind: "head",
          head: reader.head.slice(),
          start,
          lineEnd: start + frame.lineEnd - frame.start,
          end,
          bodyLength: frame.bodyLength,
          expectContinue: frame.expectContinue,
          sendContinue: reader.expectsContinue,
        });
        break;
      }
      case ReadEvent.Body: {
        const last = said.at(-1);
        const chunk = reader.chunk;
        if (chunk.length === 0) throw new Error("An empty body chunk");
        if (last?.kind === "body") {
          const joined = new Uint8Array(last.data.length + chunk.length);
          joined.set(last.data);
          joined.set(chunk, last.data.length);
          last.data = joined;
        } else {
          said.push({ kind: "body", data: chunk.slice() });
        }
        break;
      }
      case ReadEvent.MessageEnd:
        said.push({ kind: "end", at: delivered - reader.buffered });
        if (++messages === options.messages) return said;
        break;
      case ReadEvent.InputEnd:
        said.push({ kind: "input-end" });
        return said;
      case ReadEvent.Error: {
        const error = reader.error!;
        said.push({
          kind: "error",
          status: error.status,
          close: error.close,
          message: error.message,
        });
        return said;
      }
    }
  }
}

/** `said` without the 100-continue decisions, which depend on how the bytes were cut. */
export function withoutDecisions(said: Said[]): Said[] {
  return said.map((s) => (s.kind === "head" ? { ...s, sendContinue: false } : s));
}

/** Latin-1 bytes of a string: one byte per character, as on the wire. */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** Latin-1 text of bytes. */
export function text(data: Uint8Array): string {
  return String.fromCharCode(...data);
}
