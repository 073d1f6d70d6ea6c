/**
 * An idle worker of `bench/floor.ts --threads web` (and the echo of `bench/message_cost.ts`): a
 * Web Worker that echoes each message (transferring back the `ArrayBuffer` a message carries as
 * `buffer`) and otherwise waits.
 *
 * @module
 */

const scope = self as unknown as Worker;
scope.onmessage = (event: MessageEvent) => {
  const message = event.data;
  scope.postMessage(message, message?.buffer instanceof ArrayBuffer ? [message.buffer] : []);
};
