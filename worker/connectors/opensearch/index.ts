// OpenSearch connector: a sink that indexes records through the bulk API with ids from the
// records, so retries and replays overwrite documents instead of duplicating them.

export { OpenSearchSink } from './opensearch-sink.ts';
export type { OpenSearchSinkWriterStatus } from './opensearch-sink.ts';
export type { OpenSearchSinkOptions } from './opensearch-sink-options.ts';
