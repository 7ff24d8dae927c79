// What PostgreSQL can store. Its text and jsonb types hold no U+0000, and
// jsonb refuses the escape of a lone UTF-16 surrogate; both can arrive from a
// provider. Provider data is made storable here rather than dropped.
// eslint-disable-next-line no-control-regex -- matching NUL is this module's purpose
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const REPLACEMENT = "\uFFFD";

/** The text with every NUL and lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(LONE_SURROGATE, REPLACEMENT).replace(NUL, REPLACEMENT);
}

/** Whether `storableText` would change the text (for input that must be refused rather than repaired). */
export function isStorableText(text: string): boolean {
  return storableText(text) === text;
}

/** JSON.parse for model output that will be stored: every string value comes out storable (a `\u0000` escape decodes to NUL). */
export function parseStorableJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => (typeof value === "string" ? storableText(value) : value));
}
