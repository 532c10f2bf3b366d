/** pipeline/logical-date: what a logical date (`--date`, a backfill's ends) may be, and what its errors say. */
import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { checkLogicalDate } from './logical-date.js';

const NOW = new Date('2024-07-10T15:00:00Z');
const said = (value: string): string => {
  try {
    checkLogicalDate('--date', value, NOW);
  } catch (err) {
    return `${(err as StockpipeError).code}: ${(err as StockpipeError).message}`;
  }
  return 'accepted';
};

describe('checkLogicalDate', () => {
  it('accepts a past trading day; refuses an unreal date, a weekend or holiday, a future day', () => {
    expect(said('2024-07-03')).toBe('accepted');
    expect(said('2024-02-30')).toBe("SP_ERR_USAGE: --date must be a real calendar date YYYY-MM-DD (got '2024-02-30')");
    expect(said('2024-07-04')).toMatch(/^SP_ERR_NOT_TRADING_DAY: /);
    expect(said('2024-07-11')).toMatch(/^SP_ERR_DATE_IN_FUTURE: /);
  });
  it('says a date before 1900 is too early, not that it is no real date (1800-01-02 is one)', () => {
    expect(said('1800-01-02')).toBe('SP_ERR_USAGE: --date 1800-01-02 is before 1900: give a date from 1900-01-01 on');
    expect(said('0050-01-03')).toBe('SP_ERR_USAGE: --date 0050-01-03 is before 1900: give a date from 1900-01-01 on');
    expect(said('1899-02-30')).toMatch(/^SP_ERR_USAGE: --date 1899-02-30 is before 1900/);
  });
});
