// Serves the web console's static files under /console/ on the coordinator's REST port. They are
// served without the cluster token: they hold no data, and every REST call the page makes carries
// the token (Authorization: Bearer), which the REST routes check as they check any client's.
// The browser modules are plain .mjs files beside this one (the build copies .mjs files into
// dist/ with the compiled code, so the same relative path works in a checkout and in the package);
// the page and its stylesheet are in console-page.ts.

import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSOLE_HTML, CONSOLE_STYLESHEET } from './console-page.ts';

export const CONSOLE_PATH = '/console';

const ASSETS = new URL('./assets/', import.meta.url);
/** A module name is one path segment: nothing outside assets/ can be asked for. */
const MODULE_NAME = /^[a-z][a-z0-9-]*\.mjs$/;

/** Whether a request's URL is the console's (the REST server hands it over before checking the token). */
export function isConsoleRequest(url: string | undefined): boolean {
  const path = new URL(url ?? '/', 'http://localhost').pathname;
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}

export async function serveConsole(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'the console serves GET only\n');
  // The page's relative module URLs need the trailing slash.
  if (path === CONSOLE_PATH) {
    res.writeHead(301, { location: `${CONSOLE_PATH}/` });
    return void res.end();
  }
  const name = path.slice(CONSOLE_PATH.length + 1);
  if (name === '' || name === 'index.html') return reply(res, 200, 'text/html; charset=utf-8', CONSOLE_HTML);
  if (name === 'console.css') return reply(res, 200, 'text/css; charset=utf-8', CONSOLE_STYLESHEET);
  if (!MODULE_NAME.test(name)) return reply(res, 404, 'text/plain', `no console file ${name}\n`);
  let source: string;
  try {
    source = await readFile(new URL(name, ASSETS), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return reply(res, 404, 'text/plain', `no console file ${name}\n`);
    return reply(res, 500, 'text/plain', `reading console file ${name}: ${(error as Error).message}\n`);
  }
  reply(res, 200, 'text/javascript; charset=utf-8', source);
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  // no-cache: a coordinator upgraded in place serves its new console at the next load.
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(body);
}
