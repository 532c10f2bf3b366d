/** @module http/json-keys
 * Finds a key given twice in one object of a JSON body (`{"a":1,"a":2}`), which JSON.parse reads as its
 * last value without a word. A quick count first (no key repeated when the body's colons are as many as
 * the parsed value's keys), then a scan of the text naming the first such key only when the count
 * does not settle it. Pure; the body parser (http/errors) answers the 400. */

/** A key given more than once: the object's path (`instances/3`, '' for the body itself), the key, how many times. */
export interface RepeatedKey {
  path: string;
  key: string;
  times: number;
}

/** Keys in `value` and everything in it (the parsed body: plain objects and arrays); a loop, not a recursion (a body
 * nested 100,000 deep parses). */
function countKeys(value: unknown): number {
  let n = 0;
  const todo: unknown[] = [value];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') todo.push(x);
      continue;
    }
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      n++;
      const x = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') todo.push(x);
    }
  }
  return n;
}

function countColons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) n++;
  return n;
}

/** The index of the quote ending the string that opens at `start` (a quote). */
function stringEnd(text: string, start: number): number {
  let i = start;
  for (;;) {
    i = text.indexOf('"', i + 1);
    let slashes = 0;
    while (text.charCodeAt(i - 1 - slashes) === 92) slashes++; // backslashes before it: odd = escaped
    if (slashes % 2 === 0) return i;
  }
}

interface Frame {
  keys: Map<string, number> | null; // null: an array
  index: number; // an array's element, counted by its commas
  key: string; // an object's key whose value is being read
}

/** The first key given twice in one object of `body` (valid JSON whose parse is `parsed`), or null. */
export function repeatedKey(body: string, parsed: unknown): RepeatedKey | null {
  // Every key is followed by one colon; the other colons are in strings. As many colons as parsed keys: none was lost.
  if (countColons(body) === countKeys(parsed)) return null;
  return scanRepeatedKey(body);
}

/** The text scan repeatedKey falls back to: the first key given twice in one object, or null. */
export function scanRepeatedKey(body: string): RepeatedKey | null {
  const stack: Frame[] = [];
  let found: { frame: Frame; at: RepeatedKey } | null = null;
  let expectKey = false;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 34) { // "
      const end = stringEnd(body, i);
      const top = stack[stack.length - 1];
      if (expectKey && top !== undefined && top.keys !== null) {
        const key = JSON.parse(body.slice(i, end + 1)) as string; // escapes decoded: "\u0061" is "a"
        const times = (top.keys.get(key) ?? 0) + 1;
        top.keys.set(key, times);
        top.key = key;
        // The path is built once, for the first key found (a path per object costs depth² on a deep body).
        if (found === null && times === 2) found = { frame: top, at: { path: stack.slice(0, -1).map((f) => (f.keys === null ? String(f.index) : f.key)).join('/'), key, times } };
        else if (found?.frame === top && found.at.key === key) found.at.times = times;
        expectKey = false;
      }
      i = end;
    } else if (c === 123 || c === 91) { // { [
      stack.push({ keys: c === 123 ? new Map() : null, index: 0, key: '' });
      expectKey = c === 123;
    } else if (c === 125 || c === 93) { // } ]
      // Its object read whole: the first repeated key with how many times it gives it.
      const closed = stack.pop();
      if (found !== null && closed === found.frame) return found.at;
      expectKey = false;
    } else if (c === 44) { // ,
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        if (top.keys === null) top.index++;
        else expectKey = true;
      }
    }
  }
  return found?.at ?? null;
}
