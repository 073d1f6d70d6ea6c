import { deepEqual, equal } from "node:assert/strict";
import { STATUS_CODES } from "node:http";
import {
  isBodyless,
  isStatus,
  OTHER_REASONS,
  reasonPhrase,
  STATUS_TEXT,
} from "../lib/http/status.ts";

for (const [code, reason] of Object.entries(STATUS_TEXT)) {
  Deno.test(`STATUS_TEXT[${code}] is node:http's reason phrase "${STATUS_CODES[code]}"`, () => {
    equal(reason, STATUS_CODES[code]);
  });
}

Deno.test("STATUS_TEXT has the status codes salut sends", () => {
  deepEqual(Object.keys(STATUS_TEXT).map(Number), [
    100,
    200,
    204,
    206,
    301,
    302,
    304,
    307,
    308,
    400,
    403,
    404,
    405,
    408,
    412,
    413,
    414,
    416,
    417,
    421,
    431,
    500,
    501,
    503,
    505,
  ]);
});

Deno.test("isStatus() is true exactly for the codes in STATUS_TEXT", () => {
  for (let code = 0; code < 1000; code++) {
    equal(isStatus(code), Object.hasOwn(STATUS_TEXT, code), String(code));
  }
  equal(isStatus(200.5), false);
  equal(isStatus(NaN), false);
});

Deno.test("isBodyless() is true for 1xx, 204 and 304 only (RFC 9110 §6.4.1)", () => {
  const bodyless = [];
  for (let code = 100; code < 600; code++) if (isBodyless(code)) bodyless.push(code);
  deepEqual(bodyless, [...Array.from({ length: 100 }, (_, i) => 100 + i), 204, 304]);
});

Deno.test("OTHER_REASONS are node:http's reason phrases, for codes salut itself does not send", () => {
  for (const [code, reason] of Object.entries(OTHER_REASONS)) {
    equal(reason, STATUS_CODES[code], `status ${code}`);
    equal(isStatus(Number(code)), false, `status ${code} is in STATUS_TEXT too`);
  }
  equal(reasonPhrase(201), "Created");
  equal(reasonPhrase(200), "OK");
  equal(reasonPhrase(299), undefined);
});
