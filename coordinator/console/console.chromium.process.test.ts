// The web console in a real headless Chromium (Debian's, driven by puppeteer-core) against a real
// cluster of processes running a job: without the token, or with a wrong one, the REST calls are
// refused and the page says so; with it, the overview lists the job, the job page draws its graph
// and its counters change without a reload; a snapshot taken through the confirmation dialog is
// in GET /v1/snapshots. With SLUICE_CONSOLE_SCREENSHOTS=1 it saves the screenshots the README
// shows (docs/console/); otherwise a test run leaves the checkout as it was.
// Browser: scripts/services.d/chromium.sh (SLUICE_CHROMIUM).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster, TEST_TOKEN } from '../cluster/testing/process-cluster.ts';

// The functions handed to page.evaluate and waitForFunction run in the browser; this project is
// type-checked without the DOM library, and a module-local declaration keeps it out of the rest.
declare const document: any, window: any, sessionStorage: any, location: any;

const SCREENSHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));
/** Long enough to outlast the test at this rate: the job is running whenever the page looks. */
const EVENTS = 2_000_000;
const RATE = 2_000;
const WAIT_MS = 20_000;

let cluster: ProcessCluster;
let browser: Browser;
let page: Page;
let dir: string;
let jobId: string;

const consoleUrl = () => `http://127.0.0.1:${cluster.coordinators[0]!.restPort}/console/`;

function chromiumPath(): string {
  const path = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}; scripts/services.sh start chromium installs Debian's`);
  return path;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-console-'));
  [cluster, browser] = await Promise.all([
    ProcessCluster.start({ dir, coordinators: 1, workers: 2, slotsPerWorker: 1 }),
    puppeteer.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    }),
  ]);
  jobId = await cluster.submit({ test: { output: join(dir, 'output'), events: String(EVENTS), rate: String(RATE) } }, 2);
  await waitFor(() => `job ${jobId} running with every subtask reporting`, 30_000, async () => {
    const job = await cluster.job(jobId);
    const subtasks = job.tasks.reduce((n: number, t: { parallelism: number }) => n + t.parallelism, 0);
    return job.state === 'running' && job.subtasks.length === subtasks;
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 900 });
  // The console only ever talks to the coordinator it was served by.
  await page.setRequestInterception(true);
  page.on('request', (request) => (new URL(request.url()).hostname === '127.0.0.1' ? request.continue() : request.abort()));
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

/** The token gate's state: 'required', 'refused', or undefined while it is not shown. */
const gateState = () => page.$eval('#token-gate', (gate) => gate.getAttribute('data-refusal')).catch(() => undefined);

async function giveToken(token: string): Promise<void> {
  await page.waitForSelector('#token-input');
  await page.$eval('#token-input', (input) => ((input as unknown as { value: string }).value = ''));
  await page.type('#token-input', token);
  await page.click('#token-gate button[type=submit]');
}

/** Waits until `probe`, run in the page, returns something truthy; a timeout names what was awaited. */
async function waitOnPage<A extends unknown[]>(what: string, probe: (...args: A) => unknown, ...args: A) {
  try {
    return await page.waitForFunction(probe as (...args: unknown[]) => unknown, { timeout: WAIT_MS }, ...args);
  } catch (error) {
    throw new Error(`the console did not show ${what} within ${WAIT_MS} ms`, { cause: error });
  }
}

/** The records out of every subtask row, as the page shows them now. */
const recordsOutShown = () => page.$$eval('#subtasks [data-field=records-out]', (cells) => cells.map((c) => c.textContent).join('|'));

describe('the web console', { timeout: 90_000 }, () => {
  it('refuses access without the token and with a wrong one, and says which', async () => {
    await page.goto(consoleUrl());
    await page.waitForSelector('#token-gate');
    assert.equal(await gateState(), 'required');
    assert.match(await page.$eval('#token-gate', (e) => e.textContent ?? ''), /Token required.*missing cluster token/s);
    // The page's own REST call was refused, not merely hidden.
    const status = await page.evaluate(async () => (await fetch('/v1/jobs')).status);
    assert.equal(status, 401);

    await giveToken('not-the-cluster-token-0123456789');
    await waitOnPage('the token refused', () => document.querySelector('#token-gate')?.getAttribute('data-refusal') === 'refused');
    assert.match(await page.$eval('#token-gate', (e) => e.textContent ?? ''), /Token refused.*wrong cluster token/s);
    assert.equal(await page.$('#jobs'), null, 'no job data is shown behind a refused token');
  });

  it('shows the overview with the running job once the token is given', async () => {
    await giveToken(TEST_TOKEN);
    await page.waitForSelector('#jobs [data-field=job-link]');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sluice.clusterToken')), TEST_TOKEN);
    assert.equal(await page.$eval('#cluster [data-field=workers]', (e) => e.textContent), '2');
    assert.equal(await page.$eval('#cluster [data-field=slots]', (e) => e.textContent), '0 / 2');
    // A rate needs two samples: it appears at the second poll.
    await waitOnPage("the job's records/s", () => /\/s$/.test(document.querySelector('#jobs [data-field=records-per-second]')?.textContent ?? ''));
    if (process.env.SLUICE_CONSOLE_SCREENSHOTS === '1') {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'overview.png') });
    }
  });

  it("draws the job's graph and updates its counters without reloading", async () => {
    const job = await cluster.job(jobId);
    assert.ok(job.edges.length > 0, 'the job status names the edges of its graph');
    await page.click('#jobs [data-field=job-link] a');
    await waitOnPage(`${job.tasks.length} task boxes`, (n: number) => document.querySelectorAll('#job-graph .task-box').length === n, job.tasks.length);
    const boxes = await page.$$eval('#job-graph .task-box', (gs) => gs.map((g) => g.textContent ?? ''));
    for (const task of job.tasks as Array<{ name: string; parallelism: number }>) {
      assert.ok(boxes.some((text) => text.includes(`parallelism ${task.parallelism}`) && text.includes(task.name.slice(0, 20))), `a box for ${task.name} in ${JSON.stringify(boxes)}`);
    }
    assert.equal(await page.$$eval('#job-graph .edge-group', (es) => es.length), job.edges.length);

    await page.evaluate(() => (window.notReloaded = true));
    await page.waitForSelector('#subtasks [data-field=records-out]');
    const before = await recordsOutShown();
    await waitOnPage(
      `records out changing from ${before}`,
      (seen: string) => [...document.querySelectorAll('#subtasks [data-field=records-out]')].map((c: any) => c.textContent).join('|') !== seen,
      before,
    );
    // Box colours come from rates, which need two samples of the same attempt.
    await waitOnPage('a busy share on the graph', () => /busy \d+%/.test(document.querySelector('#job-graph .task-box')?.textContent ?? ''));
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the counters changed in the same page');
    if (process.env.SLUICE_CONSOLE_SCREENSHOTS === '1') await page.screenshot({ path: join(SCREENSHOTS, 'job.png'), fullPage: true });
  });

  it('takes a snapshot through the confirmation dialog, and a cancelled one is not taken', async () => {
    await page.click('#action-snapshot');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-dialog button[value=cancel]');
    await page.waitForSelector('#confirm-dialog:not([open])');
    assert.deepEqual((await cluster.rest('GET', '/v1/snapshots')).snapshots, []);

    await page.waitForSelector('#action-snapshot:not([disabled])');
    await page.click('#action-snapshot');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-button');
    const notice = await waitOnPage('the snapshot taken', () => /^Snapshot (\S+) taken/.exec(document.getElementById('notice')?.textContent ?? '')?.[1]);
    const name = (await notice.jsonValue()) as string;
    const { snapshots } = await cluster.rest('GET', '/v1/snapshots');
    assert.deepEqual(
      snapshots.map((s: { name: string; jobId: string }) => [s.name, s.jobId]),
      [[name, jobId]],
    );
    await page.evaluate(() => (location.hash = '#/snapshots'));
    await waitOnPage(`snapshot ${name} in the list`, (n: string) => [...document.querySelectorAll('#snapshots [data-field=snapshot-name]')].some((c: any) => c.textContent === n), name);
  });
});
