// User-defined metrics: what a scrape shows for each kind, nested and key-value groups, Flink's
// names and labels, a name registered twice, label sets that cannot share a name, an attempt's
// series removed when it ends. (worker/runtime/user-metrics.test.ts: functions counting in a job.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DescriptiveStatisticsHistogram, MeterView, SimpleCounter, type Counter } from '../api/index.ts';
import { UserMetricRegistry } from './user-metrics.ts';

const SCOPE = { job_id: 'j1', job_name: 'orders', task_name: 'Map', subtask_index: '0', task_attempt_num: '1', tm_id: 'worker-1', operator_id: 'parse', operator_name: 'Map' };
const LABELS = 'job_id="j1",job_name="orders",operator_id="parse",operator_name="Map",subtask_index="0",task_attempt_num="1",task_name="Map",tm_id="worker-1"';

describe('user metrics', () => {
  it('exports counters, gauges, meters and histograms with Flink names, in nested and key-value groups', async () => {
    const prometheus = new Registry();
    const registry = new UserMetricRegistry(prometheus);
    const group = registry.operatorGroup(SCOPE);
    let nowMs = 10_000;
    const parsed = group.addGroup('parser').counter('parsed');
    const queue = { size: 7 };
    group.gauge('queueSize', { getValue: () => queue.size });
    const meter = group.meter('lookups', new MeterView(10, () => nowMs));
    const latency = group.addGroup('region', 'eu').histogram('latencyMs', new DescriptiveStatisticsHistogram(100));

    parsed.inc();
    parsed.inc(4);
    parsed.dec();
    queue.size = 9;
    for (let s = 0; s < 10; s++) {
      meter.markEvent(20);
      nowMs += 1_000;
    }
    for (let v = 1; v <= 100; v++) latency.update(v);

    const text = await prometheus.metrics();
    assert.match(text, new RegExp(`^flink_taskmanager_job_task_operator_parser_parsed\\{${LABELS}\\} 4$`, 'm'));
    assert.match(text, new RegExp(`^flink_taskmanager_job_task_operator_queueSize\\{${LABELS}\\} 9$`, 'm'), 'a gauge is read at scrape time');
    assert.match(text, new RegExp(`^flink_taskmanager_job_task_operator_lookups\\{${LABELS}\\} 18$`, 'm'), 'the rate over the last 10 s, the current second not yet counted');
    assert.match(text, new RegExp(`^flink_taskmanager_job_task_operator_region_latencyMs\\{${LABELS.replace('operator_name="Map",', 'operator_name="Map",region="eu",')},quantile="0.99"\\} 99$`, 'm'));
    assert.match(text, new RegExp(`^flink_taskmanager_job_task_operator_region_latencyMs_count\\{[^}]*region="eu"[^}]*\\} 100$`, 'm'));
    assert.equal(meter.getCount(), 200);
  });

  it('keeps the first of two metrics of one name, refuses one name with two label sets, and drops an attempt\'s series', async () => {
    const prometheus = new Registry();
    const registry = new UserMetricRegistry(prometheus);
    const first = registry.operatorGroup(SCOPE).counter('records');
    const second = registry.operatorGroup(SCOPE).counter('records', new SimpleCounter());
    assert.equal(second, first, 'as Flink, the name stays with the first metric');

    assert.throws(
      () => registry.operatorGroup({ ...SCOPE, extra: 'x' }).counter('records'),
      /metric flink_taskmanager_job_task_operator_records is registered with the labels .* elsewhere; here it has .*extra/,
    );

    const other: Counter = registry.operatorGroup({ ...SCOPE, task_attempt_num: '2' }).counter('records');
    first.inc(3);
    other.inc(5);
    registry.remove((labels) => labels.task_attempt_num === '1');
    const text = await prometheus.metrics();
    assert.doesNotMatch(text, /task_attempt_num="1"/);
    assert.match(text, /^flink_taskmanager_job_task_operator_records\{[^}]*task_attempt_num="2"[^}]*\} 5$/m);
  });

  it('refuses an unnamed metric or group, naming what is missing', () => {
    const group = new UserMetricRegistry().operatorGroup(SCOPE);
    assert.throws(() => group.counter(''), /a metric needs a name, got ""/);
    assert.throws(() => group.addGroup(''), /addGroup: a group needs a name/);
  });
});
