/** @module sources/synthetic/metadata
 * symbols_valid_meta.csv: a row per listed symbol (about a third are missing, as in the real
 * data) plus rows for preferred shares and when-issued symbols that have no price file. */
import { createRng, deriveSeed, type Rng } from '../../core/rng.js';
import type { SyntheticOptions } from './options.js';
import { LETTERS, letters, type SymbolPlan } from './plan.js';
import type { Quirk } from './quirks.js';

export const META_HEADER =
  'Nasdaq Traded,Symbol,Security Name,Listing Exchange,Market Category,ETF,Round Lot Size,Test Issue,Financial Status,CQS Symbol,NASDAQ Symbol,NextShares';

const NAME_A = ['Acme', 'Apex', 'Bright', 'Cedar', 'Delta', 'Ever', 'Frontier', 'Golden', 'Harbor', 'Iron', 'Jade', 'Keystone', 'Lumen', 'Meridian', 'North', 'Orion', 'Pioneer', 'Quantum', 'Redwood', 'Summit', 'Titan', 'United', 'Vertex', 'Willow', 'Zenith', 'Agilent', 'Blue Ridge', 'Coastal'];
const NAME_B = ['Technologies', 'Pharmaceuticals', 'Energy', 'Financial', 'Holdings', 'Bancorp', 'Industries', 'Therapeutics', 'Systems', 'Resources', 'Realty', 'Networks', 'Foods', 'Motors', 'Semiconductor', 'Biosciences'];
const SPONSORS = ['iShares', 'Vanguard', 'SPDR', 'Invesco', 'Schwab', 'First Trust', 'Global X', 'WisdomTree', 'ProShares', 'VanEck'];
const THEMES = ['Core S&P 500', 'Short-Term Bond', 'MSCI Emerging Markets', 'Russell 2000', 'Clean Energy', 'Semiconductor', 'Dividend Growth', 'Gold Trust', 'Aggregate Bond', 'Nasdaq 100'];

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)]!;
}

function securityName(rng: Rng, plan: { ticker: string; asset: 'stock' | 'etf'; quirks: ReadonlySet<Quirk> }): string {
  const company = `${pick(rng, NAME_A)} ${pick(rng, NAME_B)}`;
  if (plan.asset === 'etf') return `${pick(rng, SPONSORS)} ${pick(rng, THEMES)} ETF`;
  if (plan.quirks.has('one-row')) return `${company} Acquisition Corp. - ${plan.ticker.endsWith('W') ? 'Warrant' : 'Rights'}`;
  if (plan.quirks.has('dash-ticker')) return `${company} 5.375% Series ${plan.ticker.slice(-1)} Cumulative Preferred Shares`;
  const forms = [`${company}, Inc. Common Stock`, `${company} Corporation Common Stock`, `${company}, Inc. - Class A Common Stock`, `${company} Ltd. - Ordinary Shares`, `${company} Inc. Common Stock `];
  return pick(rng, forms);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The metadata file's text (sorted by symbol) and its row count; its own stream (seed, -2). */
export function metadataCsv(opts: SyntheticOptions, plans: SymbolPlan[]): { text: string; rows: number } {
  const rng = createRng(deriveSeed(opts.seed, -2));
  const rows: Array<[string, string]> = [];
  const line = (symbol: string, name: string, etf: boolean, nasdaqSymbol: string, cqs: string): string => {
    const exch = etf ? pick(rng, ['P', 'P', 'P', 'Q', 'Z']) : pick(rng, ['N', 'N', 'Q', 'Q', 'Q', 'A']);
    const nasdaq = exch === 'Q';
    const category = nasdaq ? pick(rng, ['Q', 'G', 'S']) : ' ';
    return ['Y', symbol, csvField(name), exch, category, etf ? 'Y' : 'N', '100', 'N', nasdaq ? 'N' : '', nasdaq ? '' : cqs, nasdaqSymbol, 'N'].join(',');
  };
  for (const p of plans) {
    const name = securityName(rng, p);
    if (p.inMeta) rows.push([p.ticker, line(p.ticker, name, p.asset === 'etf', p.ticker, p.ticker)]);
  }
  // Rows for symbols that have no file: preferred shares (AGM$A) and when-issued (CARR.V).
  const extra = Math.max(2, Math.round(plans.length * 0.01));
  const used = new Set(plans.map((p) => p.ticker));
  for (let i = 0; i < extra; i++) {
    const base = letters(rng, 3 + rng.int(2));
    const company = `${pick(rng, NAME_A)} ${pick(rng, NAME_B)}`;
    const symbol = i % 2 === 0 ? `${base}$${LETTERS[rng.int(4)]!}` : `${base}.V`;
    if (used.has(symbol)) continue;
    used.add(symbol);
    const name = i % 2 === 0 ? `${company} 5.875% Non-Cumulative Preferred Stock, Series ${symbol.slice(-1)}` : `${company} Corporation Common Stock When Issued`;
    const nasdaqSymbol = symbol.replace('$', '-');
    rows.push([symbol, line(symbol, name, false, nasdaqSymbol, symbol.replace('$', 'p').replace('.V', '#'))]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { text: `${META_HEADER}\n${rows.map((r) => r[1]).join('\n')}\n`, rows: rows.length };
}
