// A test application for backpressure: an unbounded Nexmark source as fast as it can go, keyed by
// auction into a deliberately slow operator (a busy pause of test.pauseMs per test.every records)
// before a discarding sink. With credit-based flow control the source slows to the slow
// operator's rate and memory stays bounded. The slow operator counts its pauses in a user metric
// (flink_taskmanager_job_task_operator_slow_pauses).

import type { Application, Counter } from 'sluice';
import { WatermarkStrategy } from 'sluice';
import { DiscardingSink, NexmarkSource, type NexmarkEvent } from 'sluice/connectors';

const pause = new Int32Array(new SharedArrayBuffer(4));

const app: Application = (env, properties) => {
  const every = Number(properties.test?.every ?? '10');
  const pauseMs = Number(properties.test?.pauseMs ?? '1');
  env
    .fromSource(new NexmarkSource({ splitCount: 2 }), WatermarkStrategy.noWatermarks<NexmarkEvent>(), 'nexmark')
    .uid('nexmark')
    .map((e) => ({ kind: e.kind, id: (e as { auction?: number; id?: number }).auction ?? (e as { id?: number }).id ?? 0 }))
    .keyBy((r) => r.id)
    .process(() => {
      let seen = 0;
      let pauses: Counter;
      return {
        open(context) {
          pauses = context.getMetricGroup().addGroup('slow').counter('pauses');
        },
        processElement(r, _ctx, out) {
          if (++seen % every === 0) {
            Atomics.wait(pause, 0, 0, pauseMs);
            pauses.inc();
          }
          out.collect(r);
        },
      };
    })
    .uid('slow')
    .sinkTo(new DiscardingSink())
    .uid('discard');
};

export default app;
