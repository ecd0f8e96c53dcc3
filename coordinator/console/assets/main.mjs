// The console's entry: hash routes (#/, #/jobs/<id>, #/snapshots), one view at a time, refreshed
// from the REST API every second without reloading the page. A 401 from any call puts the token
// gate in front of the view; the view comes back once a token is given.

import { ApiError, forgetToken, storedToken } from './api.mjs';
import { jobView } from './job-view.mjs';
import { hideNotice, showNotice } from './notice.mjs';
import { overviewView } from './overview-view.mjs';
import { snapshotsView } from './snapshots-view.mjs';
import { tokenView } from './token-view.mjs';

const POLL_INTERVAL_MS = 1000;

const viewHost = document.getElementById('view');
const connection = document.getElementById('connection');
const forgetButton = document.getElementById('forget-token');

/** Bumped by every navigation: a poll of an earlier view stops instead of scheduling the next. */
let generation = 0;
let pollTimer;

function routeOf(hash) {
  const path = hash.replace(/^#/, '') || '/';
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) return { nav: 'overview', create: () => jobView(decodeURIComponent(job[1])) };
  if (path === '/snapshots') return { nav: 'snapshots', create: snapshotsView };
  return { nav: 'overview', create: overviewView };
}

function showRoute() {
  clearTimeout(pollTimer);
  const mine = ++generation;
  hideNotice();
  forgetButton.hidden = storedToken() === undefined;
  const route = routeOf(location.hash);
  for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('current', link.dataset.nav === route.nav);
  const view = route.create();
  viewHost.replaceChildren(view.element);
  poll(view, mine);
}

async function poll(view, mine) {
  try {
    await view.refresh();
    if (mine !== generation) return;
    connection.textContent = `connected · updated ${new Date().toLocaleTimeString('sv-SE')}`;
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) return showTokenGate(error);
    connection.textContent = 'not updating';
    showNotice(failureText(error), { error: true });
  }
  pollTimer = setTimeout(() => poll(view, mine), POLL_INTERVAL_MS);
}

/** Polling stops until a token is given: every call would be refused the same way. */
function showTokenGate(refusal) {
  generation++;
  clearTimeout(pollTimer);
  connection.textContent = 'not signed in';
  forgetButton.hidden = true;
  const gate = tokenView({ hadToken: storedToken() !== undefined, reason: refusal.message, onToken: showRoute });
  viewHost.replaceChildren(gate.element);
}

function failureText(error) {
  if (!(error instanceof ApiError)) return `The console failed: ${error.message}`;
  if (error.status === 503 && error.body.leader) return `This coordinator is a standby; the leader's console is at http://${error.body.leader}/console/`;
  if (error.status === 0) return `${error.message}; trying again every second.`;
  return `${error.message} (HTTP ${error.status})`;
}

forgetButton.addEventListener('click', () => {
  forgetToken();
  showRoute();
});
window.addEventListener('hashchange', showRoute);
showRoute();
