/**
 * What an error from `listener.accept()` means, and how the accept loop reports the ones that
 * make it wait.
 *
 * Most accept errors concern one connection only: a client that reset its connection while it
 * waited in the kernel's backlog comes out as `NotConnected` (Deno asks for the peer's address of
 * a socket that is already gone), and Linux passes other pending network errors the same way
 * (accept(2), "Error handling"). Those are skipped at once. Only running out of resources
 * (descriptors, buffers, memory) is worth waiting on, since the next accept would fail the same.
 *
 * @module
 */

/** How the accept loop treats an error. */
export type AcceptErrorKind = "connection" | "resources";

/** Error codes that concern only the connection being accepted. */
const PER_CONNECTION_CODES = new Set([
  "ENOTCONN",
  "ECONNRESET",
  "ECONNABORTED",
  "ECONNREFUSED",
  "EPIPE",
  "EINTR",
  "EAGAIN",
  "EWOULDBLOCK",
  "EPROTO",
  "ENOPROTOOPT",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "ENONET",
  "ENETDOWN",
  "ENETUNREACH",
  "EOPNOTSUPP",
  "EPERM",
  "ETIMEDOUT",
]);

/**
 * Classifies an accept error: `"connection"` for one that concerns a single client (accept the
 * next at once), `"resources"` for anything else — out of descriptors (EMFILE, ENFILE), buffers
 * (ENOBUFS) or memory (ENOMEM), or an error not known to be harmless — which waits a little.
 */
export function classifyAcceptError(error: unknown): AcceptErrorKind {
  if (
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.TimedOut
  ) return "connection";
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && PER_CONNECTION_CODES.has(code) ? "connection" : "resources";
}

/** Options for {@linkcode AcceptTrouble}. */
export interface AcceptTroubleOptions {
  /** Where the two lines of a burst go. */
  log: (line: string) => void;
  /** The clock, in ms (tests pass their own). */
  now?: () => number;
}

/**
 * Reports bursts of accept failures that make the loop back off: one line when the first
 * failure of a burst happens, one with the count and duration when an accept succeeds again.
 */
export class AcceptTrouble {
  /** Back-off waits so far, over the server's life. */
  backoffs = 0;
  #log: (line: string) => void;
  #now: () => number;
  #burst = 0;
  #since = 0;

  /** Creates a reporter writing to `options.log`. */
  constructor(options: AcceptTroubleOptions) {
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Whether a burst is going on (the last accept failed for lack of resources). */
  get inBurst(): boolean {
    return this.#burst > 0;
  }

  /** Records a failure that backs off; logs only the first of a burst. */
  failed(error: unknown): void {
    this.backoffs++;
    if (this.#burst++ === 0) {
      this.#since = this.#now();
      const message = error instanceof Error ? error.message : String(error);
      this.#log(
        `Cannot accept connections: ${message}; retrying every 50 ms while serving the open ones`,
      );
    }
  }

  /** Records a successful accept; ends a burst with one line. */
  recovered(): void {
    if (this.#burst === 0) return;
    const took = this.#now() - this.#since;
    this.#log(
      `Accepting connections again after ${this.#burst} failed attempt${
        this.#burst === 1 ? "" : "s"
      } over ${took} ms`,
    );
    this.#burst = 0;
  }
}
