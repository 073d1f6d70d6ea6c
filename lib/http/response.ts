/**
 * The two shapes of a response, independent of threads and sockets: an {@linkcode HttpResponse}
 * as a handler makes it (status, fields, body), and a {@linkcode SerializedResponse}, the bytes
 * the serializer made of it for one connection, ready to write.
 *
 * @module
 */

import type { ContentCoding } from "./content_coding.ts";

/** Header fields in the order they are sent, names spelled as they should appear. */
export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/** A byte range of a file, with the validators it had when the response was made. */
export interface FileRange {
  /** Absolute path of the file. */
  path: string;
  /** First byte offset. */
  start: number;
  /** Offset after the last byte. */
  end: number;
  /** `mtime` in ms when the response head was made; a changed file aborts the stream. */
  mtime: number;
  /** Size when the response head was made. */
  size: number;
}

/** One part of the content streamed after a response head: a file range, or text. */
export type BodyPart =
  | { file: FileRange }
  | { text: string };

/** A response as a handler makes it, before serialization. */
export interface HttpResponse {
  /** The status code; its reason phrase comes from `STATUS_TEXT`. */
  status: number;
  /**
   * Header fields other than `Date`, `Content-Length`, `Connection` and `Keep-Alive`, which the
   * serializer adds.
   */
  headers: [string, string][];
  /** The content, when it is in memory. @default empty */
  body?: Uint8Array;
  /** The content, when it is read from files after the head. */
  stream?: BodyPart[];
  /**
   * The `Content-Length` to announce when the content is not in `body`: a HEAD response, or
   * content streamed after the head. @default body.length
   */
  contentLength?: number;
  /**
   * Set on a plain 200 for a whole file: the response depends only on the request's path,
   * method and the file's validators, so its bytes may be reused while they hold.
   */
  cacheable?: { path: string; mtime: number; size: number };
  /**
   * Set when the answer is a file in a content coding to be made from its bytes (the site
   * decides the representation and its headers; the compress stage makes the bytes and sets
   * `body`, or `contentLength` for HEAD).
   */
  encode?: EncodeRequest;
}

/** A file's bytes to send in a content coding. */
export interface EncodeRequest {
  /** The coding to apply. */
  coding: ContentCoding;
  /** What the coded bytes are remembered by: the file's path and validators, and the coding. */
  key: string;
  /** Reads the file's identity bytes. */
  read: () => Uint8Array;
}

/** A response serialized for one connection: the bytes to write, and what follows them. */
export interface SerializedResponse {
  /** The status code, for the access log. */
  status: number;
  /** Close the connection after this response. */
  close: boolean;
  /** The serialized response: the head, and the body when it is not streamed. */
  bytes: Uint8Array;
  /**
   * Set by the maker when nothing else keeps `bytes`, so that a large buffer may be transferred
   * (and so detached) rather than copied. Unset: `bytes` is copied, and stays usable.
   */
  transfer?: boolean;
  /** Content that follows `bytes`, read from files in chunks with backpressure. */
  stream?: BodyPart[];
  /** Bytes of content in `bytes` plus `stream`, for the access log. */
  bodyLength: number;
}
