/** `stockpipe forecast` before any day-ahead model: the error says how to get one. */
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { openRegistry } from '../registry/store.js';
import { scoreNextDay } from './forecast-next.js';

describe('scoreNextDay without a day-ahead model', () => {
  // Probed: `stockpipe forecast` with volume models only said "no model version or alias 'forecast_champion'" and hinted
  // `stockpipe models list`, which lists no day-ahead model to pick.
  it('no --model and forecast_champion empty: SP_ERR_MODEL_NOT_FOUND hinting how to train one; an unknown --model keeps its own error', async () => {
    const ws = new Workspace(await tempDir('forecast-next'));
    openRegistry(ws).close();
    const env = { ws, now: () => new Date() };
    await expect(scoreNextDay(env)).rejects.toMatchObject({
      code: 'SP_ERR_MODEL_NOT_FOUND',
      message: expect.stringMatching(/^no day-ahead model to forecast with: the alias forecast_champion has none \(no model version or alias 'forecast_champion' in /),
      hint: expect.stringContaining('`stockpipe train --task forecast`'),
    });
    await expect(scoreNextDay(env, { model: 'nosuch' })).rejects.toMatchObject({ code: 'SP_ERR_MODEL_NOT_FOUND', message: expect.stringMatching(/^no model version or alias 'nosuch'/) });
  });
});
