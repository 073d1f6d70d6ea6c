/**
 * The one error a bad command line or environment raises.
 *
 * @module
 */

/** A bad command line or environment: print `message` on one line and exit 1. */
export class ConfigError extends Error {
  /** Creates the error; `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
