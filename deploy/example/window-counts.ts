// The example application deploy/docker-compose.yml starts, and its input: what the one-shot
// `setup` service (setup-example.ts) and the compose test (../compose.docker.test.ts) agree on.
// The application is coordinator/cluster/testing/kafka-window-app.ts (Kafka → keyed 2 s tumbling
// event-time windows → exactly-once Kafka and S3 sinks), packaged into the image; its input is
// generated, so its exact output can be computed (window-results-checker.ts).

import type { WindowInputPlan } from '../../coordinator/cluster/testing/window-results-checker.ts';

export const EXAMPLE_APPLICATION_NAME = 'window-counts';
export const EXAMPLE_BUCKET = 'sluice';
export const EXAMPLE_CODE_KEY = 'apps/window-counts.zip';
export const EXAMPLE_INPUT_TOPIC = 'events';
export const EXAMPLE_OUTPUT_TOPIC = 'window-results';
export const EXAMPLE_MARKER_TOPIC = 'window-results-markers';
export const EXAMPLE_OUTPUT_PREFIX = 'output/';
export const EXAMPLE_WINDOW_MS = 2_000;
export const EXAMPLE_OUT_OF_ORDERNESS_MS = 1_000;
export const EXAMPLE_PARALLELISM = 3;
export const EXAMPLE_CHECKPOINT_INTERVAL_MS = 2_000;

/** 12,000 records over 30 keys, 10 ms of event time apart: 120 s of event time, 1,800 window results. */
export const EXAMPLE_INPUT: WindowInputPlan = { records: 12_000, keys: 30, partitions: 6, startMs: Date.UTC(2026, 0, 15, 8, 0), stepMs: 10, jitterMs: 400 };
/** The setup writes the input's first records; the rest (and the end-of-input sentinels) is for whoever wants the windows to close. */
export const EXAMPLE_SETUP_RECORDS = 6_000;
