// One GET of a page's JSON API with the bearer token, bounded in time. Shared by the box's status
// page and central's fleet page. Browser code (fetch, AbortController): no imports.

/** The HTTP status and the body parsed as JSON (null when it is not JSON: a proxy's error page). */
export async function getJson(path: string, bearer: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const ctrl = new AbortController();
  const t = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    // never a cookie: the token goes only where the page sends it (so no CSRF)
    const res = await fetch(path, { headers: { Authorization: `Bearer ${bearer}` }, signal: ctrl.signal, credentials: 'omit' });
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: the status code still tells what happened
    }
    return { status: res.status, body };
  } catch (err) {
    if (ctrl.signal.aborted) throw new Error(`no answer within ${timeoutMs} ms`, { cause: err });
    throw err;
  } finally {
    clearTimeout(t);
  }
}

/** What a failed fetch says (it rejects only when no HTTP answer came: refused, reset, timed out). */
export function networkError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
