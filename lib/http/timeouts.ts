/**
 * How long a client may take over each phase of an HTTP/1.1 connection. The defaults live in
 * `lib/config/flags.ts`; `lib/net/connection.ts` applies them.
 *
 * @module
 */

/** Timeouts in ms. */
export interface Timeouts {
  /** From the first byte of a request (or the connection's start) to its complete head. */
  header: number;
  /** Between requests on a keep-alive connection. */
  idle: number;
  /** From a complete head to the end of its body. */
  body: number;
  /** Longest wait for the client to accept more response bytes. */
  write: number;
}
