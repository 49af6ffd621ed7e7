import { asRecord } from '../openai/response-body.parser.js';

/** The JSON text of a translation result → `{lang: html}`; every requested language must be a non-empty string. */
export function parseTranslation(
  text: string,
  languages: string[],
): { ok: true; translations: Record<string, string> } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: 'The translation is not valid JSON.' };
  }
  const object = asRecord(parsed);
  if (!object) return { ok: false, error: 'The translation is not a JSON object.' };
  const translations: Record<string, string> = {};
  const missing: string[] = [];
  for (const code of languages) {
    const value = Object.hasOwn(object, code) ? object[code] : undefined;
    if (typeof value === 'string' && value.trim() !== '') translations[code] = value;
    else missing.push(code);
  }
  if (missing.length > 0) return { ok: false, error: `The translation is missing language(s): ${missing.join(', ')}.` };
  return { ok: true, translations };
}
