import sanitizeHtml from 'sanitize-html';

/**
 * The markup a description or translation may keep: paragraphs, line breaks,
 * emphasis, lists and small headings — everything a damage report needs and
 * nothing that runs, loads or restyles anything. No attribute is kept at all
 * (so no `on*` handlers, `style`, `href`/`src` and their `javascript:` URLs).
 */
export const MODEL_HTML_TAGS: readonly string[] = ['p', 'br', 'strong', 'em', 'b', 'i', 'u', 'ul', 'ol', 'li', 'h3', 'h4', 'span'];

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...MODEL_HTML_TAGS],
  allowedAttributes: {},
  allowedSchemes: [],
  allowProtocolRelative: false,
  // Any other tag is dropped and its text kept...
  disallowedTagsMode: 'discard',
  // ...except where the "text" is code or an embedded document, which is dropped whole.
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'iframe',
    'object',
    'embed',
    'template',
    'title',
    'xmp',
    'noembed',
    'noframes',
  ],
};

/**
 * Reduces model output (a description or one translation) to the allow-list
 * above before it is stored and served: clients put it into their web pages,
 * and a model — or a compromised proxy in front of it — may answer `<script>`,
 * `onerror=` or `javascript:` links. Text is kept; entities are normalised.
 * Idempotent, so already clean HTML comes back unchanged.
 */
export function sanitizeModelHtml(html: string): string {
  return (isAlreadyClean(html) ? html : sanitizeHtml(html, OPTIONS)).trim();
}

const ALLOWED = new Set(MODEL_HTML_TAGS);
/** A bare allowed-looking tag, or anything that is not plain text: `<`, `>`, or `&` other than the three entities sanitize-html writes. */
const TOKEN = /<(\/?)([a-z0-9]+)( \/)?>|[<>]|&(?!(?:amp|lt|gt);)/g;

/**
 * True when `html` is already exactly what sanitize-html would write: only
 * allowed tags without attributes, balanced, `<br />` for breaks, and text
 * whose only markup characters are `&amp;`, `&lt;`, `&gt;`. The common case —
 * a well-behaved model — then costs one regex scan instead of a parse (a
 * 50,000-lot batch ingests every description and translation through here).
 */
export function isAlreadyClean(html: string): boolean {
  const open: string[] = [];
  for (const [, closing, name, selfClosing] of html.matchAll(TOKEN)) {
    if (name === undefined || !ALLOWED.has(name)) return false;
    if (name === 'br') {
      if (closing || !selfClosing) return false;
      continue;
    }
    if (selfClosing) return false;
    if (!closing) open.push(name);
    else if (open.pop() !== name) return false;
  }
  return open.length === 0;
}
