// Prometheus metrics with Flink's names and labels: what a worker and a coordinator expose, and
// the HTTP endpoint every process serves them on.

export {
  WorkerMetrics,
  TASK_LABELS,
  DEFAULT_RATE_WINDOW_MS,
  DEFAULT_SAMPLE_INTERVAL_MS,
  type TaskMetricsSample,
  type WorkerMetricsOptions,
} from './worker-metrics.ts';
export { CoordinatorMetrics, JOB_LABELS, type JobMetricsSample, type CoordinatorMetricsOptions } from './coordinator-metrics.ts';
export { startMetricsServer, createProcessRegistry, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
export { CounterRateWindow, type CounterPoint } from './counter-rate-window.ts';
export { UserMetricRegistry, type MetricSample } from './user-metrics.ts';
