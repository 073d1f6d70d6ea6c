/**
 * A small JSON API: a list of notes kept in memory, routed by method and path.
 *
 *     deno task start --app examples/json_api.ts
 *     deno serve examples/json_api.ts
 *
 *     curl localhost:7878/notes
 *     curl -X POST localhost:7878/notes -H 'content-type: application/json' -d '{"text":"hi"}'
 *     curl localhost:7878/notes/1
 *
 * Each salut worker runs its own copy of this module, so each keeps its own notes: state that
 * must be shared between requests belongs in a database, not in a module's variables.
 *
 * @module
 */

interface Note {
  id: number;
  text: string;
}

const notes: Note[] = [];

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

async function addNote(request: Request): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return json({ error: "send a JSON body" }, 400);
  }
  const text = (body as { text?: unknown } | null)?.text;
  if (typeof text !== "string") return json({ error: 'send {"text": "…"}' }, 422);
  const note = { id: notes.length + 1, text };
  notes.push(note);
  return json(note, 201);
}

export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/health") return json({ ok: true });
    if (pathname === "/notes") {
      if (request.method === "GET") return json(notes);
      if (request.method === "POST") return await addNote(request);
      return json({ error: "use GET or POST" }, 405);
    }
    const match = /^\/notes\/(\d+)$/.exec(pathname);
    if (match && request.method === "GET") {
      const note = notes.find((note) => note.id === Number(match[1]));
      return note ? json(note) : json({ error: "no such note" }, 404);
    }
    return json({ error: `nothing at ${pathname}` }, 404);
  },
} satisfies Deno.ServeDefaultExport;
