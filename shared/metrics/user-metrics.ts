// The metrics user functions register (shared/api/metrics.ts), exported as Flink's
// PrometheusReporter exports them: `flink_taskmanager_job_task_operator_<groups>_<name>` with the
// task's labels (job_id, job_name, task_name, subtask_index, task_attempt_num, tm_id) and the
// operator's (operator_id, operator_name); a key-value group adds its key to the name and a
// label key="value". Counters and gauges export their value, meters their rate per second,
// histograms their quantiles (label `quantile`) and `<name>_count`. Values are read at scrape
// time; an attempt's metrics go when it ends, so no stale series stay.

import { Gauge as PrometheusGauge, type Registry } from 'prom-client';
import {
  SimpleCounter,
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type MetricGroup,
} from '../api/metrics.ts';
import { InvalidPipelineError } from '../errors.ts';

const OPERATOR_PREFIX = 'flink_taskmanager_job_task_operator';
const QUANTILES = [0.5, 0.75, 0.95, 0.98, 0.99, 0.999] as const;

type Labels = Readonly<Record<string, string>>;
type Registered =
  | { readonly kind: 'counter'; readonly metric: Counter }
  | { readonly kind: 'gauge'; readonly metric: Gauge }
  | { readonly kind: 'meter'; readonly metric: Meter }
  | { readonly kind: 'histogram'; readonly metric: Histogram };

interface Series {
  readonly name: string;
  readonly labels: Labels;
  readonly registered: Registered;
}

/** One exported sample: what a scrape shows, and what tests read. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

/** Flink's character filter for Prometheus: anything but [a-zA-Z0-9:_] becomes '_'. */
function sanitize(part: string): string {
  return part.replace(/[^a-zA-Z0-9:_]/g, '_');
}

export class UserMetricRegistry {
  private readonly series = new Map<string, Series>();
  /** Metric name → its label names: Prometheus wants one label set per name. */
  private readonly labelNames = new Map<string, readonly string[]>();
  private readonly gauges = new Map<string, PrometheusGauge<string>>();

  /** With a Prometheus registry the metrics are exported on it; without one they are only kept (tests, embedded runs without --metrics-port). */
  constructor(private readonly registry?: Registry) {}

  /** The root group of one operator subtask: `scope` holds the task's and the operator's labels. */
  operatorGroup(scope: Labels): MetricGroup {
    return this.group([], scope);
  }

  /** Removes the series whose labels `matches`: an attempt that ended. */
  remove(matches: (labels: Labels) => boolean): void {
    for (const [key, series] of this.series) if (matches(series.labels)) this.series.delete(key);
  }

  /** Every sample a scrape would show now. */
  samples(): MetricSample[] {
    const samples: MetricSample[] = [];
    for (const { name, labels, registered } of this.series.values()) {
      switch (registered.kind) {
        case 'counter':
          samples.push({ name, labels, value: registered.metric.getCount() });
          break;
        case 'gauge':
          samples.push({ name, labels, value: Number(registered.metric.getValue()) });
          break;
        case 'meter':
          samples.push({ name, labels, value: registered.metric.getRate() });
          break;
        case 'histogram': {
          const statistics = registered.metric.getStatistics();
          for (const q of QUANTILES) samples.push({ name, labels: { ...labels, quantile: String(q) }, value: statistics.getQuantile(q) });
          samples.push({ name: `${name}_count`, labels, value: registered.metric.getCount() });
          break;
        }
      }
    }
    return samples;
  }

  private group(path: readonly string[], labels: Labels): MetricGroup {
    const register = <M>(metricName: string, registered: Registered): M => {
      if (typeof metricName !== 'string' || metricName === '') throw new InvalidPipelineError(`a metric needs a name, got ${JSON.stringify(metricName)}`);
      const name = [OPERATOR_PREFIX, ...path, metricName].map(sanitize).join('_');
      // Sorted, so a scrape prints every series' labels in one order.
      const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const key = `${name}${JSON.stringify(sorted)}`;
      // As Flink: a second metric of the same name in the same group is not registered; the first stays.
      const existing = this.series.get(key);
      if (existing) return (existing.registered.kind === registered.kind ? existing.registered.metric : registered.metric) as M;
      this.declare(name, Object.keys(labels), registered.kind === 'histogram');
      this.series.set(key, { name, labels: sorted, registered });
      return registered.metric as M;
    };
    return {
      counter: (name, counter = new SimpleCounter()) => register<Counter>(name, { kind: 'counter', metric: counter }),
      gauge: (name, gauge) => register(name, { kind: 'gauge', metric: gauge }),
      meter: (name, meter) => register(name, { kind: 'meter', metric: meter }),
      histogram: (name, histogram) => register(name, { kind: 'histogram', metric: histogram }),
      addGroup: (name, value) => {
        if (typeof name !== 'string' || name === '') throw new InvalidPipelineError(`addGroup: a group needs a name, got ${JSON.stringify(name)}`);
        return this.group([...path, name], value === undefined ? labels : { ...labels, [sanitize(name)]: value });
      },
    };
  }

  /** Makes sure a Prometheus gauge of this name exists with these label names. */
  private declare(name: string, labelNames: readonly string[], histogram: boolean): void {
    const sorted = [...labelNames].sort();
    const known = this.labelNames.get(name);
    if (known !== undefined) {
      if (known.join() !== sorted.join()) {
        throw new InvalidPipelineError(`metric ${name} is registered with the labels ${known.join(', ')} elsewhere; here it has ${sorted.join(', ')}: give it another name or group`);
      }
      return;
    }
    this.labelNames.set(name, sorted);
    if (this.registry === undefined) return;
    const exported = histogram ? [name, `${name}_count`] : [name];
    for (const gaugeName of exported) {
      const names = histogram && gaugeName === name ? [...sorted, 'quantile'] : sorted;
      const registry = this;
      this.gauges.set(
        gaugeName,
        new PrometheusGauge<string>({
          name: gaugeName,
          help: `user metric ${gaugeName}`,
          labelNames: names,
          registers: [this.registry],
          collect() {
            this.reset();
            for (const sample of registry.samples()) if (sample.name === gaugeName) this.set(sample.labels, sample.value);
          },
        }),
      );
    }
  }
}
