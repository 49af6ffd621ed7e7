/** Every ISO 639-1 two-letter language code (the 184 assigned codes). */
const ISO_639_1 = (
  'aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es ' +
  'et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj ' +
  'kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ' +
  'ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti ' +
  'tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu'
).split(' ');

/**
 * Regional and script variants clients commonly ask for. Deliberately a closed
 * list: an open `xx-YY` pattern would let typos such as `en-UD` through, and
 * the translation model would then guess what was meant.
 */
const REGIONAL = [
  'en-US',
  'en-GB',
  'en-AU',
  'en-CA',
  'en-IE',
  'en-IN',
  'en-NZ',
  'pt-BR',
  'pt-PT',
  'es-ES',
  'es-MX',
  'es-AR',
  'es-CO',
  'es-US',
  'es-419',
  'fr-FR',
  'fr-CA',
  'fr-BE',
  'fr-CH',
  'de-DE',
  'de-AT',
  'de-CH',
  'it-IT',
  'it-CH',
  'nl-NL',
  'nl-BE',
  'sv-SE',
  'sv-FI',
  'zh-CN',
  'zh-TW',
  'zh-HK',
  'zh-SG',
  'zh-Hans',
  'zh-Hant',
  'sr-Latn',
  'sr-Cyrl',
  'uz-Latn',
  'uz-Cyrl',
  'ar-SA',
  'ar-AE',
  'ar-EG',
  'ru-RU',
  'uk-UA',
  'pl-PL',
  'tr-TR',
  'ja-JP',
  'ko-KR',
  'ro-RO',
  'ro-MD',
];

/** Lower-cased code → canonical spelling (`pt-br` → `pt-BR`). */
const CANONICAL = new Map<string, string>([...ISO_639_1, ...REGIONAL].map((code) => [code.toLowerCase(), code]));

/** The canonical spelling of a supported language code, or undefined. Matching ignores case and `_` vs `-`. */
export function canonicalLanguage(code: string): string | undefined {
  return CANONICAL.get(code.trim().replace('_', '-').toLowerCase());
}

export const SUPPORTED_LANGUAGE_COUNT = CANONICAL.size;
