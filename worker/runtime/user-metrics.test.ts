// User metrics in a job run in embedded mode: a function's counter, one series per subtask with
// the task's and the operator's labels.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment, type Counter, type ProcessFunction } from '../../shared/api/index.ts';
import { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';

describe('user metrics in a job', () => {
  it('counts in the functions of a pipeline run in embedded mode, one series per subtask', async () => {
    const registry = new UserMetricRegistry();
    const env = new StreamExecutionEnvironment();
    const evenOnes: ProcessFunction<number, number> = {
      open(context) {
        (this as unknown as { even: Counter }).even = context.getMetricGroup().addGroup('numbers').counter('even');
      },
      processElement(value, _ctx, out) {
        if (value % 2 === 0) (this as unknown as { even: Counter }).even.inc();
        out.collect(value);
      },
    };
    const sink = new CollectSink<number>();
    env
      .fromCollection(Array.from({ length: 1_000 }, (_, i) => i))
      .rebalance()
      .process(evenOnes)
      .setParallelism(2)
      .uid('evens')
      .sinkTo(sink);

    await runEmbedded(env, { userMetrics: registry });

    const series = registry.samples().filter((s) => s.name === 'flink_taskmanager_job_task_operator_numbers_even');
    assert.deepEqual(series.map((s) => s.labels.subtask_index).sort(), ['0', '1']);
    assert.ok(series.every((s) => s.labels.operator_id === 'evens' && s.labels.tm_id === 'embedded'));
    assert.equal(series.reduce((sum, s) => sum + s.value, 0), 500);
    assert.equal(sink.values.length, 1_000);
  });
});
