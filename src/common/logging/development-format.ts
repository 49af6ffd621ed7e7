/** Fields a reader does not need on a development terminal (the time and level are shown in front). */
const HIDDEN = new Set(['time', 'level', 'message', 'context', 'pid', 'hostname', 'role', 'stack', 'span_id']);
/** Shown first, in this order; the rest follow alphabetically. */
const FIRST = ['request_id', 'client_id', 'job_id', 'lot_id', 'stage', 'openai_batch_id'];

const quoted = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s"]/.test(text) ? JSON.stringify(text) : text;
};

/**
 * One JSON log line as a readable one (no pino-pretty):
 * `06:40:01.123 INFO  [Pipeline] vision submitted as 1 batch(es) · job_id=… stage=…`,
 * a stack trace indented on the lines below it.
 */
export function formatDevelopmentLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const level = (typeof entry.level === 'string' ? entry.level : '').toUpperCase().padEnd(5);
  const context = typeof entry.context === 'string' ? ` [${entry.context}]` : '';
  const keys = Object.keys(entry).filter((key) => !HIDDEN.has(key));
  keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const fields = keys.map((key) => `${key}=${quoted(entry[key])}`).join(' ');
  const stack = typeof entry.stack === 'string' ? '\n' + entry.stack.replace(/^/gm, '    ') : '';
  return `${time} ${level}${context} ${typeof entry.message === 'string' ? entry.message : ''}${fields ? ` · ${fields}` : ''}${stack}\n`;
}

function rank(key: string): number {
  const index = FIRST.indexOf(key);
  return index === -1 ? FIRST.length : index;
}
