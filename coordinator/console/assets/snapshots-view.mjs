// Every snapshot the cluster keeps (GET /v1/snapshots): what a job restores from.

import { apiGet } from './api.mjs';
import { h, replaceContent, table } from './dom.mjs';
import { formatBytes, formatTime } from './format.mjs';

export function snapshotsView() {
  const list = h('section', { class: 'panel', id: 'snapshots' });
  const element = h('div', {}, h('h1', {}, 'Snapshots'), h('p', { class: 'subtitle' }, 'A job restores from one with restoreFrom (its name or path). Updated every second.'), list);

  async function refresh() {
    const { snapshots } = await apiGet('/v1/snapshots');
    const newestFirst = [...snapshots].sort((a, b) => b.createdAtMs - a.createdAtMs);
    replaceContent(
      list,
      table(
        [{ label: 'name' }, { label: 'job' }, { label: 'checkpoint', number: true }, { label: 'size', number: true }, { label: 'created' }, { label: 'path' }],
        newestFirst.map((snapshot) => [
          { value: snapshot.name, field: 'snapshot-name' },
          h('a', { href: `#/jobs/${encodeURIComponent(snapshot.jobId)}`, title: snapshot.jobId }, snapshot.jobName),
          `#${snapshot.checkpointId}`,
          formatBytes(snapshot.bytes),
          formatTime(snapshot.createdAtMs),
          snapshot.path,
        ]),
        'No snapshot yet.',
      ),
    );
  }

  return { element, refresh };
}
