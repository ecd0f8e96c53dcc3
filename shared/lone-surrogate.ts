// Text that UTF-8 cannot carry: the state and record codecs write such strings as UTF-16 instead.

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** True if `text` holds an unpaired UTF-16 surrogate, which UTF-8 cannot represent losslessly. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
