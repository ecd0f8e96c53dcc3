// The containers' health check: exits 0 when the URL answers 2xx within 2 s (the image has no
// curl). Usage: node /opt/sluice/deploy/healthcheck.mjs http://127.0.0.1:9249/metrics
const url = process.argv[2];
if (!url) {
  console.error('usage: healthcheck.mjs URL');
  process.exit(2);
}
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) console.error(`${url}: HTTP ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
