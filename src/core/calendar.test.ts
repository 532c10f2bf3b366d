import { describe, expect, it } from 'vitest';
import { isTradingDay, nextTradingDay, nyseHolidays, previousTradingDay, toDayNumber, fromDayNumber, tradingDays } from './calendar.js';

describe('NYSE calendar', () => {
  it('closes on the 2024 holidays and weekends', () => {
    expect(isTradingDay('2024-07-04')).toBe(false); // Independence Day
    expect(isTradingDay('2024-03-29')).toBe(false); // Good Friday
    expect(isTradingDay('2024-01-15')).toBe(false); // MLK day
    expect(isTradingDay('2024-02-19')).toBe(false); // Washington's Birthday
    expect(isTradingDay('2024-05-27')).toBe(false); // Memorial Day
    expect(isTradingDay('2024-06-19')).toBe(false); // Juneteenth
    expect(isTradingDay('2024-09-02')).toBe(false); // Labor Day
    expect(isTradingDay('2024-11-28')).toBe(false); // Thanksgiving
    expect(isTradingDay('2024-12-25')).toBe(false); // Christmas
    expect(isTradingDay('2024-07-06')).toBe(false); // Saturday
    expect(isTradingDay('2024-07-07')).toBe(false); // Sunday
    expect(isTradingDay('2024-07-05')).toBe(true);
    expect(isTradingDay('2024-11-29')).toBe(true); // day after Thanksgiving (early close, but open)
  });

  it('applies the observance rules', () => {
    expect(isTradingDay('2023-06-19')).toBe(false); // Juneteenth, a Monday
    expect(isTradingDay('2022-06-20')).toBe(false); // Juneteenth on Sunday → Monday
    expect(isTradingDay('2021-06-18')).toBe(true); // Juneteenth not yet an NYSE holiday
    expect(isTradingDay('2021-12-31')).toBe(true); // New Year 2022 is a Saturday: no Friday closure
    expect(isTradingDay('2023-01-02')).toBe(false); // New Year on Sunday → Monday
    expect(isTradingDay('2021-12-24')).toBe(false); // Christmas on Saturday → Friday
    expect(isTradingDay('2022-12-26')).toBe(false); // Christmas on Sunday → Monday
    expect(isTradingDay('2020-07-03')).toBe(false); // July 4th on Saturday → Friday
    expect(isTradingDay('1997-01-20')).toBe(true); // MLK day only from 1998
    expect(isTradingDay('1998-01-19')).toBe(false);
  });

  it('computes Good Friday from Easter', () => {
    expect(isTradingDay('2025-04-18')).toBe(false);
    expect(isTradingDay('2019-04-19')).toBe(false);
    expect(isTradingDay('2000-04-21')).toBe(false);
    expect(isTradingDay('2024-04-01')).toBe(true); // Easter Monday is a trading day
  });

  it('knows the unscheduled closures', () => {
    expect(isTradingDay('2001-09-12')).toBe(false);
    expect(isTradingDay('2012-10-29')).toBe(false);
    expect(isTradingDay('2018-12-05')).toBe(false);
    expect(isTradingDay('2001-09-17')).toBe(true);
  });

  it('counts the trading days of known years', () => {
    expect(tradingDays('2022-01-01', '2022-12-31')).toHaveLength(251);
    expect(tradingDays('2023-01-01', '2023-12-31')).toHaveLength(250);
    expect(tradingDays('2024-01-01', '2024-12-31')).toHaveLength(252);
    expect(nyseHolidays(2024)).toEqual([
      '2024-01-01', '2024-01-15', '2024-02-19', '2024-03-29', '2024-05-27',
      '2024-06-19', '2024-07-04', '2024-09-02', '2024-11-28', '2024-12-25',
    ]);
  });

  it('lists trading days by count or end date', () => {
    expect(tradingDays('2024-01-01', 3)).toEqual(['2024-01-02', '2024-01-03', '2024-01-04']);
    expect(tradingDays('2024-07-03', '2024-07-08')).toEqual(['2024-07-03', '2024-07-05', '2024-07-08']);
    expect(tradingDays('2024-07-04', 0)).toEqual([]);
    const days = tradingDays('2010-01-04', 2520);
    expect(days).toHaveLength(2520);
    for (const d of days) expect(new Date(`${d}T00:00:00Z`).getUTCDay() % 6).not.toBe(0);
  });

  it('steps to the next and previous trading day', () => {
    expect(nextTradingDay('2024-07-03')).toBe('2024-07-05');
    expect(previousTradingDay('2024-07-05')).toBe('2024-07-03');
    expect(nextTradingDay('2024-03-28')).toBe('2024-04-01');
  });

  it('round-trips day numbers and rejects bad dates', () => {
    expect(fromDayNumber(toDayNumber('2024-02-29'))).toBe('2024-02-29');
    for (const bad of ['2023-02-29', '2024-13-01', '24-01-01', '2024-1-1', '']) {
      expect(() => isTradingDay(bad)).toThrowError(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID' }));
    }
  });
});
