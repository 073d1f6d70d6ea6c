/**
 * Workload G's app: the least a handler can do, so what is measured is the server around it.
 *
 *     deno task start --app bench/apps/hi.ts
 *
 * @module
 */

export default {
  fetch(): Response {
    return new Response("hi");
  },
} satisfies Deno.ServeDefaultExport;
