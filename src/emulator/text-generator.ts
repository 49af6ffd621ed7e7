/**
 * The deterministic "model": every text the emulator answers is a pure
 * function of the request, so the service's tests can predict it exactly.
 * The rules are documented in README.md ("Deterministic text"); keep both in
 * step. These functions are exported so tests can compute expectations.
 */

export type Trigger =
  | 'refusal'
  | 'reasoning-only'
  | 'incomplete'
  | 'empty'
  | 'fail-500'
  | 'message-first'
  | 'extra-items'
  | 'split-text'
  | 'deep-reasoning'
  | 'hostile-html';

const TRIGGERS: readonly Trigger[] = [
  'refusal',
  'reasoning-only',
  'incomplete',
  'empty',
  'fail-500',
  'message-first',
  'extra-items',
  'split-text',
  'deep-reasoning',
  'hostile-html',
];

/**
 * What `[emulator:hostile-html]` adds to a description or translation: the
 * markup a model or a compromised proxy could answer — a script, an event
 * handler, a `javascript:` link, an iframe, a style block — around text that
 * must survive sanitising ("Hostile markup follows." and "Open the full report").
 */
export const HOSTILE_HTML =
  "<p onclick=\"alert('p')\">Hostile markup follows<script>alert('script')</script>.</p>" +
  '<img src="x" onerror="alert(\'img\')">' +
  '<p><a href="javascript:alert(\'link\')">Open the full report</a></p>' +
  '<iframe src="https://attacker.example/frame"></iframe>' +
  '<style>body{display:none}</style>';

const MARKER = /\[emulator:([a-z0-9-]+)\]/g;
/** `[emulator:next:X]` survives into the generated description as `[emulator:X]`, so it fires on the *next* request (the translation). */
const DEFERRED_MARKER = /\[emulator:next:([a-z0-9-]+)\]/g;

export const ADDITIONAL_INFO_LABEL = 'Additional information:';
export const NO_ADDITIONAL_INFO = 'No additional information provided.';

/** The triggers present in the user text (deferred markers do not count). */
export function findTriggers(userText: string): Set<Trigger> {
  const found = new Set<Trigger>();
  for (const match of userText.matchAll(MARKER)) {
    if ((TRIGGERS as readonly string[]).includes(match[1])) found.add(match[1] as Trigger);
  }
  return found;
}

/**
 * The text after the first `Additional information:` (case-insensitive) up to
 * the end of that text part, immediate markers removed, deferred markers
 * rewritten, whitespace collapsed. `''` when there is none.
 */
export function extractAdditionalInfo(userTextParts: readonly string[]): string {
  for (const part of userTextParts) {
    const at = part.toLowerCase().indexOf(ADDITIONAL_INFO_LABEL.toLowerCase());
    if (at < 0) continue;
    return part
      .slice(at + ADDITIONAL_INFO_LABEL.length)
      .replace(MARKER, '')
      .replace(DEFERRED_MARKER, '[emulator:$1]')
      .replace(/\s+/g, ' ')
      .trim();
  }
  return '';
}

/**
 * The vision answer:
 * `<p>Damage assessment of N image(s): INFO</p><p>SECOND</p>` where INFO is the
 * HTML-escaped additional information (or "No additional information
 * provided.") and SECOND depends only on whether there were images.
 */
export function describeDamage(additionalInfo: string, imageCount: number): string {
  const info = additionalInfo === '' ? NO_ADDITIONAL_INFO : escapeHtml(additionalInfo);
  const second =
    imageCount === 0
      ? 'No photos were provided; this assessment relies on the description only.'
      : 'The photos are consistent with the description; no further damage is visible.';
  return `<p>Damage assessment of ${imageCount} image(s): ${info}</p><p>${second}</p>`;
}

/**
 * The HTML a translation request asks to translate: from the first `<p` to the
 * last `</p>` of the user text; the whole trimmed user text when it has no
 * paragraph.
 */
export function extractSourceHtml(userText: string): string {
  const start = userText.search(/<p[\s>]/i);
  const end = userText.toLowerCase().lastIndexOf('</p>');
  if (start >= 0 && end > start) return userText.slice(start, end + '</p>'.length);
  return userText.trim();
}

/** Appends HOSTILE_HTML (the `hostile-html` trigger). */
export function withHostileHtml(html: string): string {
  return html + HOSTILE_HTML;
}

/** "Translation": `[lang] ` inserted after every opening `<p>` tag (tags kept); plain text is wrapped in one `<p>`. */
export function translateHtml(html: string, lang: string): string {
  const paragraph = /<p(\s[^>]*)?>/gi;
  if (!paragraph.test(html)) return `<p>[${lang}] ${html}</p>`;
  return html.replace(paragraph, (tag) => `${tag}[${lang}] `);
}

/** Property names treated as target languages in a json_schema: `de`, `pt-BR`, `zh_CN`… */
export function isLanguageCode(name: string): boolean {
  return /^[a-z]{2}([-_][A-Za-z]{2,4})?$/.test(name);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
