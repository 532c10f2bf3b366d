/** @module dashboard/client/views/try
 * #/try: a form that calls GET /predict with the two features and shows the answer (the
 * predicted volume and the X-Model-Id that produced it), or the API's error. */
import { errorBox, h, int, mount } from '../dom.js';
import type { ViewContext } from '../main.js';

export async function tryView(ctx: ViewContext): Promise<void> {
  const vma = h('input', { type: 'number', name: 'vol_moving_avg', required: true, min: 0, step: 'any', value: ctx.query.get('vol_moving_avg') ?? '12345' });
  const acm = h('input', { type: 'number', name: 'adj_close_rolling_med', required: true, step: 'any', value: ctx.query.get('adj_close_rolling_med') ?? '25' });
  const out = h('div', { class: 'answer', 'aria-live': 'polite' });
  const form = h('form', { class: 'card try' },
    h('label', null, 'vol_moving_avg ', h('small', null, '(mean Volume of the last 30 days)'), vma),
    h('label', null, 'adj_close_rolling_med ', h('small', null, '(median Adj Close of the last 30 days)'), acm),
    h('button', { type: 'submit', class: 'primary' }, 'Predict'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const q = new URLSearchParams({ vol_moving_avg: vma.value, adj_close_rolling_med: acm.value });
      ctx.setQuery(Object.fromEntries(q));
      const t0 = performance.now();
      try {
        const r = await fetch(`/predict?${q}`);
        const body = (await r.json()) as unknown;
        const ms = performance.now() - t0;
        if (!r.ok) {
          mount(out, errorBox((body as { error?: unknown }).error ?? body));
          return;
        }
        mount(out, h('p', { class: 'big', 'data-volume': String(body) }, int(body)), h('p', { class: 'meta' },
          `predicted volume · model ${r.headers.get('x-model-id') ?? '?'} · ${ms.toFixed(1)} ms`),
          h('pre', null, `GET /predict?${q}\n→ ${JSON.stringify(body)}`));
      } catch (err) {
        mount(out, errorBox(err));
      }
    })();
  });
  mount(ctx.el, h('h1', null, 'Try the API'), h('p', null, 'Predicts one day\'s trading volume from the two rolling features.'), form, out);
  ctx.ready();
}
