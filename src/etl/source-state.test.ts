import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, grownTail, PROBE_BYTES } from './source-state.js';

const dir = mkdtempSync(join(tmpdir(), 'sp-source-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const line = (i: number): string => `${String(2000 + Math.floor(i / 365)).padStart(4, '0')}-01-01,${i}.5,${i}.75,${i}.25,${i}.5,${i}.4999999999999991,${1000 + i}\n`;
const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => line(from + k)).join('');

let n = 0;
function file(text: string): string {
  const p = join(dir, `f${n++}.csv`);
  writeFileSync(p, text);
  return p;
}

describe('grownTail', () => {
  // Sizes around the 4 KiB probes: an old file shorter than one probe, one between one and two, a long one.
  it.each([3, 60, 140, 2000])('an old file of %i lines that grew: the header and exactly the new lines, and the fingerprint of the grown file', (old) => {
    const p = file(HEADER + lines(0, old));
    const before = fingerprint(p, statSync(p).size);
    appendFileSync(p, lines(old, old + 7));
    const size = statSync(p).size;
    const got = grownTail(p, before, size);
    expect(got).not.toBeNull();
    expect(got!.bytes.toString()).toBe(HEADER + lines(old, old + 7));
    expect(got!.head).toEqual(fingerprint(p, size));
  });

  it('a grown file whose new lines alone are longer than a probe', () => {
    const p = file(HEADER + lines(0, 500));
    const before = fingerprint(p, statSync(p).size);
    appendFileSync(p, lines(500, 700));
    const size = statSync(p).size;
    expect(size - before.size).toBeGreaterThan(PROBE_BYTES);
    const got = grownTail(p, before, size)!;
    expect(got.bytes.toString()).toBe(HEADER + lines(500, 700));
    expect(got.head).toEqual(fingerprint(p, size));
  });

  it('null when the file did not grow, or changed before its old end, or its old end was not a line end', () => {
    const text = HEADER + lines(0, 300);
    const same = file(text);
    const fp = fingerprint(same, statSync(same).size);
    expect(grownTail(same, fp, fp.size)).toBeNull();
    // A changed head (first probe), then a changed last line before the old end (second probe): each with new lines added.
    const head = file(`${text.replace('0.5,', '9.5,')}${lines(300, 301)}`);
    expect(grownTail(head, fp, statSync(head).size)).toBeNull();
    const last = file(`${text.slice(0, -2)}8\n${lines(300, 301)}`);
    expect(grownTail(last, fp, statSync(last).size)).toBeNull();
    // The old file ended inside a line: that line was not whole when it was read.
    const cut = file(text.slice(0, -1));
    const cutFp = fingerprint(cut, statSync(cut).size);
    appendFileSync(cut, `\n${lines(300, 302)}`);
    expect(grownTail(cut, cutFp, statSync(cut).size)).toBeNull();
  });

  it('null when the old file did not hold its whole header line, or the file is shorter than the size given', () => {
    const p = file('Date,Open');
    const fp = fingerprint(p, statSync(p).size);
    appendFileSync(p, `,High,Low,Close,Adj Close,Volume\n${lines(0, 2)}`);
    expect(grownTail(p, fp, statSync(p).size)).toBeNull();
    const q = file(HEADER + lines(0, 100));
    const qfp = fingerprint(q, statSync(q).size);
    appendFileSync(q, lines(100, 101));
    expect(grownTail(q, qfp, statSync(q).size + 10)).toBeNull();
  });
});

describe('fingerprint', () => {
  it('hashes the first and the last 4 KiB; a file of one probe or less has one hash for both', () => {
    const small = file(HEADER + lines(0, 5));
    const s = fingerprint(small, statSync(small).size);
    expect(s.head_hash).toBe(s.tail_hash);
    expect(s.head_hash).toMatch(/^[0-9a-f]{32}$/);
    const big = file(HEADER + lines(0, 400));
    const b = fingerprint(big, statSync(big).size);
    expect(b.head_hash).not.toBe(b.tail_hash);
    // The same bytes give the same hashes; one byte changed inside either probe changes that hash only.
    const text = HEADER + lines(0, 400);
    const other = file(`${text.slice(0, -3)}8${text.slice(-2)}`);
    const o = fingerprint(other, statSync(other).size);
    expect(o.head_hash).toBe(b.head_hash);
    expect(o.tail_hash).not.toBe(b.tail_hash);
  });
});
