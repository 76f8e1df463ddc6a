// The status page's HTML building blocks: escaping, badges, label/value rows, tables, sections.
// Every value from the daemon goes through esc(); class names come only from fixed words. Browser
// code: no imports (render.ts and render-pair.ts build on it).

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute-value escaping (attributes are always double-quoted here). */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function ms(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '-';
  if (value >= 10) return `${Math.round(value)} ms`;
  return `${Number(value.toFixed(3))} ms`;
}

export function rate(perS: number | undefined): string {
  if (perS === undefined || !Number.isFinite(perS)) return '-';
  if (perS >= 100) return `${Math.round(perS)}/s`;
  return `${Number(perS.toFixed(1))}/s`;
}

export function yesNo(value: boolean | null | undefined): string {
  return value === null || value === undefined ? '-' : value ? 'yes' : 'no';
}

/** A state word as a CSS class: only the known shape of state names, anything else is "unknown". */
export function stateClass(state: string | null | undefined): string {
  return typeof state === 'string' && /^[a-z]+(-[a-z]+)*$/.test(state) ? `state state-${state}` : 'state state-unknown';
}

export type Tone = 'ok' | 'bad' | 'warn' | 'off';
export function badge(text: string, tone: Tone, field?: string): string {
  return `<span class="badge ${tone}"${field ? ` data-field="${field}"` : ''}>${esc(text)}</span>`;
}

/** Rows of label/value; values are HTML (callers escape their data). */
export function fields(rows: readonly [string, string, string?][]): string {
  return `<dl>${rows.map(([k, v, field]) => `<dt>${esc(k)}</dt><dd${field ? ` data-field="${field}"` : ''}>${v}</dd>`).join('')}</dl>`;
}

export function table(head: readonly string[], rows: readonly string[][], cls = ''): string {
  return (
    `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

export function section(title: string, id: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}
