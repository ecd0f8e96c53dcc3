// How numbers read on the page: counts with separators, rates per second, durations, sizes, times.

const COUNT = new Intl.NumberFormat('en-US');

export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? COUNT.format(n) : '–';
}

/** Records per second; undefined (no earlier sample yet) is a dash. */
export function formatRate(perSecond) {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '–';
  if (perSecond >= 10_000) return `${(perSecond / 1000).toFixed(1)}k/s`;
  return `${perSecond.toFixed(perSecond < 10 ? 1 : 0)}/s`;
}

/** A fraction of time (busy, backpressured) as a percentage. */
export function formatShare(fraction) {
  return fraction === undefined ? '–' : `${Math.round(fraction * 100)}%`;
}

export function formatDuration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A wall-clock time (ms since the epoch), local, to the second. */
export function formatTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  return new Date(ms).toLocaleString('sv-SE').replace('T', ' ');
}

/** An event-time watermark: none yet is -Infinity (the REST API writes it as a string). */
export function formatWatermark(watermark) {
  return typeof watermark === 'number' && Number.isFinite(watermark) ? formatTime(watermark) : 'none';
}
