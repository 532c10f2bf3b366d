/** @module dashboard/client/hash
 * The page's hash route (#/<view>/<param>…?<query>) read into its parts. A path segment that is no
 * valid percent-encoding (`#/symbols/50%`, typed or pasted) is kept as typed: decodeURIComponent
 * threw on it, and the page stayed blank. */

/** A path segment decoded, or as typed when it is no valid percent-encoding. */
function decodeSegment(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** `location.hash` as the view's name (default runs), its decoded path segments and its query. */
export function parseHash(hash: string): { name: string; params: string[]; query: URLSearchParams } {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', q = ''] = raw.split('?', 2);
  const parts = path.split('/').filter((p) => p !== '').map(decodeSegment);
  return { name: parts[0] ?? 'runs', params: parts.slice(1), query: new URLSearchParams(q) };
}
