/**
 * A clock as server-sent events: one `data:` event a second, for as long as the client listens.
 *
 *     deno task start --app examples/sse_clock.ts
 *     deno serve examples/sse_clock.ts
 *     curl -N localhost:7878/
 *
 * The body is a `ReadableStream`: the first event goes out at once, then one a second; when the
 * client goes away, `cancel()` stops the timer.
 *
 * @module
 */

const encoder = new TextEncoder();

function event(): Uint8Array {
  return encoder.encode(`data: ${new Date().toISOString()}\n\n`);
}

export default {
  fetch(): Response {
    let timer: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(event());
        timer = setInterval(() => controller.enqueue(event()), 1000);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  },
} satisfies Deno.ServeDefaultExport;
