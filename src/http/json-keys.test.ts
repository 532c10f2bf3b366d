import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { repeatedKey, scanRepeatedKey } from './json-keys.js';

describe('repeatedKey', () => {
  it('finds a key given twice in one object, with its path and count; other bodies pass', () => {
    const at = (body: string) => repeatedKey(body, JSON.parse(body) as unknown);
    expect(at('{"instances":[{"vol_moving_avg":1,"adj_close_rolling_med":2,"vol_moving_avg":3}]}')).toEqual({ path: 'instances/0', key: 'vol_moving_avg', times: 2 });
    expect(at('{"coverage":0.9,"instances":[],"coverage":0.5,"coverage":0.1}')).toEqual({ path: '', key: 'coverage', times: 3 });
    expect(at('{"a":1,"\\u0061":2}')).toEqual({ path: '', key: 'a', times: 2 }); // the same key, escaped
    expect(at('{"a:b":"c:d","x":[{"y":"\\":"}],"z":{"a":1}}')).toBeNull(); // colons in strings, the same key in two objects
    expect(at('[{"a":1},{"a":2},{"b":1,"c":{"d":1,"d":2}}]')).toEqual({ path: '2/c', key: 'd', times: 2 });
    expect(at('"a:b"')).toBeNull();
    const deep = `${'['.repeat(100_000)}"x:"${']'.repeat(100_000)}`;
    expect(at(deep)).toBeNull();
  });

  it('agrees with the documents it is given, key for key, over many seeds (the colon count and the scan)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = createRng(seed);
      const rand = (): number => rng.next();
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const keys = ['a', 'b', 'c:d', 'e\\"f', 'vol_moving_avg'];
      const strings = ['"x"', '"a:b"', '"\\\\"', '"\\":"', '""'];
      let first: { path: string; key: string; times: number } | null = null;
      // Builds the text and, from what it wrote, the first key given twice (its object's count once it closes).
      const gen = (depth: number, path: string): string => {
        const r = rand();
        if (depth > 3 || r < 0.3) return rand() < 0.5 ? String(Math.floor(rand() * 100)) : pick(strings);
        const sp = rand() < 0.3 ? ' ' : '';
        if (r < 0.6) return `[${sp}${Array.from({ length: Math.floor(rand() * 4) }, (_, i) => gen(depth + 1, path === '' ? String(i) : `${path}/${i}`)).join(`,${sp}`)}]`;
        const seen = new Map<string, number>();
        const parts: string[] = [];
        let mine: { path: string; key: string; times: number } | null = null;
        for (let i = Math.floor(rand() * 5); i > 0; i--) {
          const k = rand() < 0.15 && seen.size > 0 ? pick([...seen.keys()]) : pick(keys);
          const times = (seen.get(k) ?? 0) + 1;
          seen.set(k, times);
          const decoded = JSON.parse(`"${k}"`) as string;
          if (times === 2 && first === null) first = mine = { path, key: decoded, times };
          else if (mine !== null && mine.key === decoded) mine.times = times;
          parts.push(`"${k}"${sp}:${sp}${gen(depth + 1, path === '' ? decoded : `${path}/${decoded}`)}`);
        }
        return `{${sp}${parts.join(`,${sp}`)}}`;
      };
      const body = gen(0, '');
      const parsed = JSON.parse(body) as unknown;
      expect(repeatedKey(body, parsed), `seed ${seed}: ${body}`).toEqual(first);
      expect(scanRepeatedKey(body), `seed ${seed}: ${body}`).toEqual(first);
    }
  });
});
