/** @module dashboard/client/views/tag-editor
 * The model page's tag editor: the tags with a remove button each, and a `key=value` field to add
 * or replace one (POST /models/:id/tags, as `stockpipe models tag`). The server checks keys and
 * values (SP_ERR_TAG_INVALID is shown with its hint); a 401 or 403 shows the API token field. */
import { changeTags } from '../api-tags.js';
import { h, mount } from '../dom.js';
import { showError } from './run-control.js';

/** The editor for model `id` with its current `tags`; `changed` gets the tags after each change. */
export function tagEditor(id: string, tags: Record<string, string>, changed: (tags: Record<string, string>) => void): HTMLElement {
  const list = h('ul', { class: 'tag-list' });
  const out = h('div', { class: 'tag-out', 'aria-live': 'polite' });
  const input = h('input', { type: 'text', name: 'tag-add', placeholder: 'key=value, e.g. stage=staging', 'aria-label': 'tag to add (key=value)', maxlength: 330, autocomplete: 'off' });
  const add = h('button', { type: 'submit', 'data-action': 'add-tag' }, 'Add tag');

  const apply = async (button: HTMLButtonElement, set: Record<string, string>, remove: string[]): Promise<boolean> => {
    button.disabled = true;
    mount(out);
    try {
      const r = await changeTags(id, set, remove);
      render(r.tags);
      changed(r.tags);
      return true;
    } catch (err) {
      showError(out, err);
      return false;
    } finally {
      button.disabled = false;
    }
  };

  function render(now: Record<string, string>): void {
    const entries = Object.entries(now);
    mount(list, entries.length === 0 ? h('li', { class: 'hint' }, 'No tags yet.') : entries.map(([k, v], i) => {
      const rm = h('button', { type: 'button', class: 'link', 'data-remove-tag': k, 'aria-label': `remove tag ${k}` }, '×');
      // The list is redrawn: keyboard focus goes to the next tag's remove button (or the field), not the page.
      rm.addEventListener('click', () => void apply(rm, {}, [k]).then((ok) => {
        if (!ok) return;
        const left = [...list.querySelectorAll<HTMLButtonElement>('button[data-remove-tag]')];
        (left[Math.min(i, left.length - 1)] ?? input).focus();
      }));
      return h('li', { 'data-tag': k }, h('code', null, `${k}=${v}`), ' ', rm);
    }));
  }

  const form = h('form', { class: 'tag-form' }, input, ' ', add);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text === '') return;
    // Split at the first '=' (a value may hold '='); the server refuses what is malformed, with why.
    const at = text.indexOf('=');
    const set = at < 0 ? { [text]: '' } : { [text.slice(0, at)]: text.slice(at + 1) };
    void apply(add, set, []).then((ok) => { if (ok) input.value = ''; });
  });
  render(tags);
  return h('div', { class: 'tag-editor' }, list, form, out,
    h('p', { class: 'hint' }, 'The same as ', h('code', null, `stockpipe models tag ${id} key=value`), ' (', h('code', null, '--remove key'), ' to remove); search them in the Models list.'));
}
