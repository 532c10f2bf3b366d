import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';
import { parseCsvRecords } from './csv-records.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const META = join(
  [resolve(ROOT, '..', 'shared'), resolve(ROOT, '..', '..', 'shared')].find((d) => existsSync(d)) ?? resolve(ROOT, '..', 'shared'),
  'data',
  'kaggle-sample',
  'symbols_valid_meta.csv',
);
if (!existsSync(META)) console.log(`SKIP csv-records on the real metadata: ${META} is absent (it sits beside the repo in CI, not in a fresh clone)`);

/** The definition, one character at a time (the splitter before it took runs as slices). */
function byChar(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      out.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    out.push(row);
  }
  return out;
}

describe('parseCsvRecords', () => {
  it('quoted fields, doubled quotes, CRLF, a BOM, empty fields and lines, no final line end', () => {
    expect(parseCsvRecords('\ufeffa,b\r\n"x, y","say ""hi"""\n,\n\nlast,"open')).toEqual([['a', 'b'], ['x, y', 'say "hi"'], ['', ''], [''], ['last', 'open']]);
    expect(parseCsvRecords('ab"c,d"e,f\r')).toEqual([['abc,de', 'f']]);
    expect(parseCsvRecords('"a\nb",c\n')).toEqual([['a\nb', 'c']]);
    expect(parseCsvRecords('')).toEqual([]);
    expect(parseCsvRecords('\ufeff')).toEqual([]);
  });

  it('equals the character-by-character definition on random text of quotes, commas and line ends', () => {
    const r = createRng(11);
    const alphabet = ['a', 'b', ',', '"', '""', '\n', '\r', '\r\n', ' ', 'é', '\ufeff'];
    for (let t = 0; t < 3000; t++) {
      let text = '';
      const len = r.int(40);
      for (let k = 0; k < len; k++) text += alphabet[r.int(alphabet.length)];
      expect(parseCsvRecords(text), JSON.stringify(text)).toEqual(byChar(text));
    }
  });

  it.skipIf(!existsSync(META))('equals it on the real metadata file (580 kB)', () => {
    const text = readFileSync(META, 'utf8');
    expect(parseCsvRecords(text)).toEqual(byChar(text));
  });
});
