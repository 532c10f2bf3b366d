/** The promote dialog's champion: the model list shown may be a search's or the newest 100 only, so a
 * champion outside it is asked of the server (GET /models?alias=champion), not taken for none. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { aliasHolder, type ListedModel } from './api-models.js';

const model = (id: string, aliases: string[] = []): ListedModel => ({ id, kind: 'gbdt', created_at: '2024-01-02T00:00:00Z', aliases, tags: {} }) as unknown as ListedModel;

describe('aliasHolder', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('takes the holder from the list when it is there, without a request', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    expect((await aliasHolder([model('rf-1'), model('gbdt-1', ['champion'])], 'champion'))?.id).toBe('gbdt-1');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('asks the server for a holder the list leaves out (a search for rf while a gbdt is champion), and says none only when it has none', async () => {
    const urls: string[] = [];
    const answer = { serving: 'gbdt-1', models: [model('gbdt-1', ['champion'])], total: 1, limit: 1, offset: 0 };
    vi.stubGlobal('fetch', vi.fn(async (url: string) => { urls.push(url); return new Response(JSON.stringify(answer), { status: 200 }); }));
    expect((await aliasHolder([model('rf-1')], 'champion'))?.id).toBe('gbdt-1');
    expect(urls).toEqual(['/models?alias=champion&limit=1']);
    answer.models = [];
    expect(await aliasHolder([model('rf-1')], 'champion')).toBeNull();
  });
});
