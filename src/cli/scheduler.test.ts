import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { getLog } from '../core/log.js';
import { Workspace } from '../core/workspace.js';
import type { CommandContext } from './context.js';
import { schedulerCommand } from './scheduler.js';

describe('stockpipe scheduler', () => {
  // Probed: `scheduler --config prod.json` without schedules hinted to add them to stockpipe.config.json.
  it('without schedules names the config file it read, or says there is none', async () => {
    const ctx = { config: loadConfig({ file: {}, env: {}, flags: {}, origin: 'test' }), ws: new Workspace('/nonexistent/ws'), log: getLog('test') } as unknown as CommandContext;
    const err = await schedulerCommand(ctx, { globalArgs: ['--config', '/etc/stockpipe/prod.json', '--threads', '2'], configFile: '/etc/stockpipe/prod.json', version: 'test' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SP_ERR_SCHEDULE_INVALID', message: 'no schedules in the config (/etc/stockpipe/prod.json)', hint: expect.stringMatching(/ to \/etc\/stockpipe\/prod\.json\.$/) });
    const none = await schedulerCommand(ctx, { globalArgs: [], configFile: null, version: 'test' }).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: 'SP_ERR_SCHEDULE_INVALID', message: expect.stringContaining('no config file'), hint: expect.stringMatching(/ to \.\/stockpipe\.config\.json\.$/) });
  });
});
