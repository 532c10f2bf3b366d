/** @module sources/index
 * Turns a --source value into a Source: synthetic (default), dir:PATH, zip:PATH, kaggle, yahoo. */
import { StockpipeError } from '../core/errors.js';
import type { Config } from '../core/config.js';
import { dirSource } from './dir.js';
import { kaggleSource } from './kaggle.js';
import { syntheticSource } from './synthetic.js';
import type { Source } from './types.js';
import { yahooSource } from './yahoo.js';
import { zipSource } from './zip-source.js';

export const SOURCE_FORMS = ['synthetic', 'dir:PATH', 'zip:PATH', 'kaggle', 'yahoo'] as const;

/** Resolves the source named by `spec` with the fetch settings of the config. */
export function sourceFor(spec: string, cfg: Config['fetch']): Source {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  switch (kind) {
    case 'synthetic':
      if (cfg.tickers !== undefined) throw new StockpipeError('SP_ERR_CONFIG_INVALID', `--symbols ${cfg.tickers.join(',')} names tickers, which only --source yahoo fetches`, { hint: 'Use --source yahoo with tickers, or a number of symbols (e.g. --symbols 500) for synthetic.' });
      return syntheticSource({ seed: cfg.seed, symbols: cfg.symbols, years: cfg.years, start: cfg.start });
    case 'dir':
    case 'zip':
      if (arg === '') throw new StockpipeError('SP_ERR_SOURCE_UNKNOWN', `--source ${kind} needs a path: ${kind}:PATH`, { hint: `Example: --source ${kind}:./stock-market-dataset${kind === 'zip' ? '.zip' : ''}` });
      return kind === 'dir' ? dirSource(arg) : zipSource(arg);
    case 'kaggle':
      return kaggleSource({ baseUrl: cfg.kaggle_base_url, dataset: arg !== '' ? arg : cfg.kaggle_dataset });
    case 'yahoo':
      if (cfg.tickers === undefined) throw new StockpipeError('SP_ERR_CONFIG_INVALID', '--source yahoo needs tickers: --symbols AAPL,MSFT (or fetch.tickers in the config)', { hint: 'Example: stockpipe fetch --source yahoo --symbols AAPL,MSFT --start 2020-01-01 --end 2020-12-31' });
      return yahooSource({ baseUrl: cfg.yahoo_base_url, symbols: cfg.tickers, start: cfg.start, end: cfg.end, requestsPerSecond: cfg.yahoo_requests_per_second });
    default:
      throw new StockpipeError('SP_ERR_SOURCE_UNKNOWN', `unknown source '${spec}'`, { hint: `Use one of: ${SOURCE_FORMS.join(', ')}.` });
  }
}
