// The execution environment an application's default export receives: it collects the pipeline
// (a StreamGraph) and the job's settings. The runner (`sluice run`, later the cluster) executes it.

import { DataStream, SingleOutputStreamOperator } from './data-stream.ts';
import type { Sink, Source } from './connectors.ts';
import { StreamGraph, type SourceNode } from './graph.ts';
import { WatermarkStrategy } from './watermark-strategy.ts';
import { CollectionSource, ConsoleSink } from './builtin-connectors.ts';
import { InvalidPipelineError } from '../errors.ts';

/** Runtime properties, as Managed Flink's property groups: `group → key → value`. */
export type ApplicationProperties = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** An application module's default export. */
export type Application = (env: StreamExecutionEnvironment, properties: ApplicationProperties) => void | Promise<void>;

export interface JobSettings {
  jobName: string | undefined;
  parallelism: number | undefined;
  maxParallelism: number | undefined;
  /** How often sources emit watermarks, in processing time; 0: after every record. */
  autoWatermarkIntervalMs: number;
  checkpointIntervalMs: number | undefined;
}

export class StreamExecutionEnvironment {
  readonly graph = new StreamGraph();
  readonly settings: JobSettings = {
    jobName: undefined,
    parallelism: undefined,
    maxParallelism: undefined,
    autoWatermarkIntervalMs: 200,
    checkpointIntervalMs: undefined,
  };

  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new InvalidPipelineError(`setParallelism: a positive integer, got ${parallelism}`);
    this.settings.parallelism = parallelism;
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > 32768) {
      throw new InvalidPipelineError(`setMaxParallelism: an integer in [1, 32768], got ${maxParallelism}`);
    }
    this.settings.maxParallelism = maxParallelism;
    return this;
  }

  /** 0 makes the watermark advance after every record (deterministic tests rely on it). */
  setAutoWatermarkInterval(intervalMs: number): this {
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new InvalidPipelineError(`setAutoWatermarkInterval: a non-negative number of ms, got ${intervalMs}`);
    this.settings.autoWatermarkIntervalMs = intervalMs;
    return this;
  }

  enableCheckpointing(intervalMs: number): this {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new InvalidPipelineError(`enableCheckpointing: a positive number of ms, got ${intervalMs}`);
    this.settings.checkpointIntervalMs = intervalMs;
    return this;
  }

  setJobName(name: string): this {
    this.settings.jobName = name;
    return this;
  }

  fromSource<T>(source: Source<T>, watermarkStrategy: WatermarkStrategy<T>, name?: string): SingleOutputStreamOperator<T> {
    if (!source || typeof source.createReader !== 'function' || typeof source.discoverSplits !== 'function') {
      throw new InvalidPipelineError(`fromSource${name ? ` "${name}"` : ''}: not a Source (it needs discoverSplits() and createReader())`);
    }
    if (!(watermarkStrategy instanceof WatermarkStrategy)) {
      throw new InvalidPipelineError(`fromSource "${name ?? source.name}": the second argument must be a WatermarkStrategy (WatermarkStrategy.noWatermarks() for none)`);
    }
    const node: SourceNode = {
      kind: 'source',
      id: this.graph.nodes.length,
      name: `Source: ${name ?? source.name}`,
      uid: undefined,
      parallelism: undefined,
      maxParallelism: undefined,
      source,
      watermarkStrategy,
    };
    this.graph.nodes.push(node);
    return new SingleOutputStreamOperator<T>(this, node);
  }

  /** A bounded stream of the given values, read by one subtask, in order. */
  fromElements<T>(...values: T[]): SingleOutputStreamOperator<T> {
    return this.fromCollection(values);
  }

  fromCollection<T>(values: readonly T[], watermarkStrategy: WatermarkStrategy<T> = WatermarkStrategy.noWatermarks<T>()): SingleOutputStreamOperator<T> {
    return this.fromSource(new CollectionSource<T>(values), watermarkStrategy, 'Collection').setParallelism(1);
  }

  /** @internal used by DataStream.print */
  consoleSink<T>(prefix?: string): Sink<T> {
    return new ConsoleSink<T>(prefix);
  }
}

export type { DataStream };
