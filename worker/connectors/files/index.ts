// File connectors: a bounded JSON Lines source (one split per file, exact line positions) and an
// exactly-once JSON Lines sink (in-progress part files committed by rename on checkpoint completion).

export { JsonLinesFileSource } from './json-lines-file-source.ts';
export type { JsonLinesFileSourceOptions, JsonLinesLineOrigin, JsonLinesPosition } from './json-lines-file-source.ts';
export { JsonLinesFileSink } from './json-lines-file-sink.ts';
export type { JsonLinesCommittable, JsonLinesFileSinkOptions, JsonLinesFileSinkWriterState, JsonLinesPendingPart } from './json-lines-file-sink.ts';
