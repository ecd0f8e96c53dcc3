// The application of the state benchmark: builds a large keyed state in LevelDB, then keeps
// updating part of it. Four source splits; split s first writes every key k with k % 4 = s once
// (`state.keys` keys of `state.valueBytes` bytes each: the state's size), then updates, forever and
// as fast as it can, random keys among the "hot" ones: the keys whose key group is below
// `state.hotKeyGroups` (of 128). So a checkpoint after the load sees every key group changed, and
// later ones only the hot key groups: what incremental checkpoints save is visible.

import type { Application, KeyedProcessFunction, RuntimeContext, ValueState } from 'sluice';
import { ValueStateDescriptor, WatermarkStrategy } from 'sluice';
import { DiscardingSink } from 'sluice/connectors';
import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../shared/api/connectors.ts';
import { assignToKeyGroup } from '../../shared/key-groups.ts';

export const MAX_PARALLELISM = 128;
const SPLITS = 4;

export interface LargeStateRecord {
  readonly key: number;
  readonly value: string;
}

interface Position {
  readonly loaded: number;
  readonly updates: number;
}

class LargeStateSource implements Source<LargeStateRecord> {
  readonly name = 'large-state';
  readonly bounded = false;
  constructor(private readonly keys: number, private readonly valueBytes: number, private readonly hotKeyGroups: number) {}

  discoverSplits(): SplitState[] {
    return Array.from({ length: SPLITS }, (_, s) => ({ id: `split-${s}`, position: { loaded: 0, updates: 0 } satisfies Position }));
  }

  createReader(): SourceReader<LargeStateRecord> {
    const { keys, valueBytes, hotKeyGroups } = this;
    const padding = 'x'.repeat(valueBytes);
    const splits: Array<{ id: string; split: number; loaded: number; updates: number; hot: number[] }> = [];
    let next = 0;
    return {
      addSplits(added) {
        for (const s of added) {
          const split = Number(s.id.slice('split-'.length));
          const position = s.position as Position;
          const hot: number[] = [];
          for (let k = split; k < keys; k += SPLITS) if (assignToKeyGroup(k, MAX_PARALLELISM) < hotKeyGroups) hot.push(k);
          splits.push({ id: s.id, split, loaded: position.loaded, updates: position.updates, hot });
        }
      },
      poll(output: SourceOutput<LargeStateRecord>, maxRecords: number): PollStatus {
        if (splits.length === 0) return 'wait';
        const index = next++ % splits.length;
        const s = splits[index]!;
        for (let i = 0; i < maxRecords; i++) {
          const perSplit = Math.ceil((keys - s.split) / SPLITS);
          let key: number;
          if (s.loaded < perSplit) key = s.split + SPLITS * s.loaded++;
          else {
            // A cheap deterministic spread over the hot keys.
            key = s.hot[(s.updates * 2654435761) % s.hot.length]!;
            s.updates++;
          }
          const stamp = `${key}:${s.loaded}:${s.updates}:`;
          output.collect({ key, value: stamp + padding.slice(stamp.length) }, index);
        }
        return 'more';
      },
      snapshotSplits() {
        return splits.map((s) => ({ id: s.id, position: { loaded: s.loaded, updates: s.updates } satisfies Position }));
      },
      close() {},
    };
  }
}

class Store implements KeyedProcessFunction<number, LargeStateRecord, never> {
  private value!: ValueState<string>;
  open(context: RuntimeContext): void {
    this.value = context.getState(new ValueStateDescriptor<string>('value'));
  }
  processElement(record: LargeStateRecord): void {
    this.value.update(record.value);
  }
}

const app: Application = (env, properties) => {
  const keys = Number(properties.state?.keys ?? '100000');
  const valueBytes = Number(properties.state?.valueBytes ?? '1000');
  const hotKeyGroups = Number(properties.state?.hotKeyGroups ?? '8');
  env.setMaxParallelism(MAX_PARALLELISM);
  env
    .fromSource(new LargeStateSource(keys, valueBytes, hotKeyGroups), WatermarkStrategy.noWatermarks<LargeStateRecord>(), 'large-state')
    .uid('source')
    .keyBy((r) => r.key)
    .process(() => new Store())
    .uid('store')
    .sinkTo(new DiscardingSink())
    .uid('discard');
};

export default app;
