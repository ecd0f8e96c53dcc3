// A record (or row, or value) as an error message shows it: its JSON (bigints as digits), cut short.

export function recordText(value: unknown, maxLength = 300): string {
  let text: string;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
