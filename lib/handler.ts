/**
 * The thread's app under its former name, for the thread entry (`lib/worker.ts`) and `main.ts`;
 * the app itself is in `lib/app/`.
 *
 * @module
 */

export { App as Handler, type AppOptions as HandlerOptions, internalError } from "./app/app.ts";
