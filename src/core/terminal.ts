/** @module core/terminal
 * Text printed for people on a terminal (the CLI's results and errors, a run's live view). Pure. */

/** Control characters other than newline and tab shown as '?', so a name from the data (a file
 * `A<ESC>]0;…<BEL>.csv`, a symbol) cannot act on the terminal. `--json` escapes them itself. */
export function forTerminal(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is masked here
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
}

/** A JSON-schema / zod pattern for text a person typed that stockpipe keeps and prints again (a
 * promotion's note, the model search's free text): no control character at all. */
/** A word with its indefinite article, for a run's kind: "a train", "an ingest". */
export const withArticle = (word: string): string => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

export const NO_CONTROL_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';
