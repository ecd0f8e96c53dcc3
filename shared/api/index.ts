// What a Sluice application imports: the DataStream API, windows, state, time and connectors.

export * from './environment.ts';
export * from './data-stream.ts';
export * from './functions.ts';
export * from './state.ts';
export * from './state-ttl.ts';
export * from './windows.ts';
export * from './window-triggers.ts';
export * from './window-evictors.ts';
export * from './watermark-strategy.ts';
export * from './output-tag.ts';
export * from './time.ts';
export * from './async-io.ts';
export * from './metrics.ts';
export * from './operator-state.ts';
export * from './broadcast.ts';
export type * from './connectors.ts';
export { CollectionSource, ConsoleSink } from './builtin-connectors.ts';
export type { StreamGraph, StreamNode, StreamEdge, OperatorSpec } from './graph.ts';
export * from './cep/index.ts';
