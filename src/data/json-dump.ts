// JSON text laid out exactly like Python's json.dump(obj, f, indent=2): the RCS files are read by
// other tools, and dict key order (first-seen order in the original) is part of the format, so
// ordered objects are Maps here (JSON.stringify would move integer-like keys to the front).

export type PyJson = number | string | boolean | null | PyJson[] | Map<string, PyJson>;

export function pyJsonDump(value: PyJson, indent = 2): string {
  return dump(value, indent, 0);
}

function dump(v: PyJson, indent: number, level: number): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`pyJsonDump: non-finite number ${v}`);
    return Number.isInteger(v) ? String(v) : pyFloat(v);
  }
  if (typeof v === 'string') return pyString(v);
  const pad = ' '.repeat(indent * (level + 1));
  const end = ' '.repeat(indent * level);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[\n' + v.map((x) => pad + dump(x, indent, level + 1)).join(',\n') + '\n' + end + ']';
  }
  if (v.size === 0) return '{}';
  const items = [...v].map(([k, x]) => pad + pyString(k) + ': ' + dump(x, indent, level + 1));
  return '{\n' + items.join(',\n') + '\n' + end + '}';
}

/** ensure_ascii string: JSON escapes plus \uXXXX for every non-ASCII code unit. */
function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Python float repr for finite non-integers (shortest round-trip, like JS, but exponent style differs). */
function pyFloat(x: number): string {
  const s = String(x);
  if (!s.includes('e')) return s;
  const [m, e] = s.split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}
