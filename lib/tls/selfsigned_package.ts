/**
 * The `selfsigned` package (certificates over WebCrypto, JavaScript only), pinned here. Only
 * `--tls-self-signed` loads this module, by URL, so that `deno run` does not fetch the package
 * at start (salut starts offline on an empty cache); deno.json's `compile.include` puts it into
 * the binary.
 *
 * @module
 */

export { default as selfsigned } from "npm:selfsigned@5.5.0";
