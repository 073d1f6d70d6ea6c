/**
 * An idle worker of `bench/floor.ts --threads web`: a Web Worker that echoes each message and
 * otherwise waits.
 *
 * @module
 */

const scope = self as unknown as Worker;
scope.onmessage = (event: MessageEvent) => scope.postMessage(event.data);
