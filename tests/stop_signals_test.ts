import { equal } from "node:assert/strict";
import { REPEAT_WINDOW_MS, StopSignals } from "../lib/stop_signals.ts";

Deno.test("a repeat of the first signal within the window is the same stop; after it, a force", () => {
  const signals = new StopSignals();
  equal(signals.classify("SIGINT", 1000), "stop");
  // The terminal's SIGINT and the one `deno task` forwards, milliseconds apart.
  equal(signals.classify("SIGINT", 1003), "repeat");
  equal(signals.classify("SIGINT", 1000 + REPEAT_WINDOW_MS - 1), "repeat");
  // A deliberate second Ctrl-C.
  equal(signals.classify("SIGINT", 1000 + REPEAT_WINDOW_MS), "force");
});

Deno.test("a different signal forces the exit even inside the window", () => {
  const signals = new StopSignals();
  equal(signals.classify("SIGTERM", 0), "stop");
  equal(signals.classify("SIGINT", 1), "force");
});

Deno.test("the window is measured from the first signal, not stretched by repeats", () => {
  const signals = new StopSignals({ window: 100 });
  equal(signals.classify("SIGINT", 0), "stop");
  equal(signals.classify("SIGINT", 90), "repeat");
  equal(signals.classify("SIGINT", 150), "force");
});
