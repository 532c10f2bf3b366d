/** @module test/global-setup
 * Guards the temp-folder rule: notes the `sp-*` entries in the OS temp dir before the run and
 * reports the new ones left after it. Other runs on a shared machine make such folders too, so it
 * prints by default and fails only with STOCKPIPE_TEST_STRICT_TMP=1. */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

const PREFIX = 'sp-';
const list = (): Set<string> => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX)));

export default function setup(): () => void {
  const before = list();
  return () => {
    const left = [...list()].filter((n) => !before.has(n)).sort();
    if (left.length === 0) return;
    const msg = `test temp folders left behind in ${tmpdir()} (${left.length}): ${left.slice(0, 20).join(', ')}${left.length > 20 ? ', …' : ''}`;
    if (process.env.STOCKPIPE_TEST_STRICT_TMP === '1') throw new Error(msg);
    console.warn(`warning: ${msg}`);
  };
}
