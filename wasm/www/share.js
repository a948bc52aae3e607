// The page's state in the URL fragment: JSON, compressed with deflate-raw
// (CompressionStream), base64url. `#v1.<data>`: the prefix is the format version.

export const VERSION = 1;

async function pump(stream, bytes) {
  const writer = stream.writable.getWriter();
  writer.write(bytes);
  writer.close();
  return new Uint8Array(await new Response(stream.readable).arrayBuffer());
}

function base64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function unbase64url(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The fragment (without `#`) that holds `state`. */
export async function encode(state) {
  const json = new TextEncoder().encode(JSON.stringify({ ...state, v: VERSION }));
  return `v${VERSION}.${base64url(await pump(new CompressionStream("deflate-raw"), json))}`;
}

/** The state a fragment holds; null when there is none; an Error when it cannot be read. */
export async function decode(fragment) {
  const text = fragment.replace(/^#/, "");
  if (text === "") return null;
  const match = /^v(\d+)\.([A-Za-z0-9_-]*)$/.exec(text);
  if (!match) throw new Error("the link's state is not one this page wrote");
  if (Number(match[1]) !== VERSION) throw new Error(`the link's state is format v${match[1]}; this page reads v${VERSION}`);
  const bytes = await pump(new DecompressionStream("deflate-raw"), unbase64url(match[2]));
  return JSON.parse(new TextDecoder().decode(bytes));
}
