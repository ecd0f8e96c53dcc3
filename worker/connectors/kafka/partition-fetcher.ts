// Reads chosen partitions from chosen offsets with Fetch requests sent straight to each
// partition's leader (kafkajs's Cluster, see kafka-client.ts): no consumer group, no rebalancing,
// the caller owns the offsets. One `fetchOnce` sends one Fetch per leader in parallel and returns,
// per partition, the records a consumer of the isolation level may see (aborted transactions and
// control records removed, as Kafka's Java consumer does) and the offset to fetch next — past control
// markers and compacted gaps, so a partition whose tail is a transaction marker still advances.

import type { KafkaCluster, RawMessage, RawPartitionData } from './kafka-client.ts';

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read, as a decimal string (offsets are 64-bit). */
  readonly offset: string;
}

export interface FetchedPartition {
  readonly topic: string;
  readonly partition: number;
  /** What the caller may see, in offset order, all at or after the requested offset. */
  readonly records: RawMessage[];
  /** Where the next fetch of this partition starts. */
  readonly nextOffset: string;
  readonly highWatermark: string;
}

/** Kafka errors after which a refresh of the metadata and a retry fix things (a moved leader). */
const STALE_METADATA_ERRORS = new Set(['LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH']);

export function isStaleMetadataError(error: unknown): boolean {
  const e = error as { type?: string; name?: string };
  return (e.type !== undefined && STALE_METADATA_ERRORS.has(e.type)) || e.name === 'KafkaJSBrokerNotFound' || e.name === 'KafkaJSConnectionClosedError' || e.name === 'KafkaJSTopicMetadataNotLoaded';
}

export interface PartitionFetcherOptions {
  readonly isolationLevel: number;
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
}

export class PartitionFetcher {
  constructor(private readonly cluster: KafkaCluster, private readonly options: PartitionFetcherOptions) {}

  /** One round of Fetch requests (one per leader) for these partitions. */
  async fetchOnce(partitions: readonly PartitionOffset[]): Promise<FetchedPartition[]> {
    let byLeader = this.groupByLeader(partitions);
    const placed = [...byLeader.values()].reduce((n, list) => n + list.length, 0);
    if (placed < partitions.length) {
      // A partition the cached metadata does not know yet (just created): refresh once.
      await this.cluster.refreshMetadata();
      byLeader = this.groupByLeader(partitions);
    }
    const results = await Promise.all([...byLeader].map(([nodeId, list]) => this.fetchFromLeader(nodeId, list)));
    return results.flat();
  }

  private groupByLeader(partitions: readonly PartitionOffset[]): Map<string, PartitionOffset[]> {
    const byLeader = new Map<string, PartitionOffset[]>();
    const byTopic = new Map<string, PartitionOffset[]>();
    for (const p of partitions) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p);
    }
    for (const [topic, list] of byTopic) {
      const leaders = this.cluster.findLeaderForPartitions(topic, list.map((p) => p.partition));
      for (const [nodeId, ids] of Object.entries(leaders)) {
        let forLeader = byLeader.get(nodeId);
        if (!forLeader) byLeader.set(nodeId, (forLeader = []));
        for (const id of ids) forLeader.push(list.find((p) => p.partition === id)!);
      }
    }
    return byLeader;
  }

  private async fetchFromLeader(nodeId: string, partitions: PartitionOffset[]): Promise<FetchedPartition[]> {
    const broker = await this.cluster.findBroker({ nodeId });
    const topics = new Map<string, Array<{ partition: number; fetchOffset: string; maxBytes: number }>>();
    for (const p of partitions) {
      let list = topics.get(p.topic);
      if (!list) topics.set(p.topic, (list = []));
      list.push({ partition: p.partition, fetchOffset: p.offset, maxBytes: this.options.maxBytesPerPartition });
    }
    const { responses } = await broker.fetch({
      isolationLevel: this.options.isolationLevel,
      maxWaitTime: this.options.maxWaitMs,
      minBytes: 1,
      maxBytes: this.options.maxBytes,
      topics: [...topics].map(([topic, list]) => ({ topic, partitions: list })),
    });
    const fetched: FetchedPartition[] = [];
    for (const { topicName, partitions: datas } of responses) {
      for (const data of datas) {
        const requested = partitions.find((p) => p.topic === topicName && p.partition === data.partition);
        if (requested) fetched.push(readPartitionData(topicName, requested.offset, data));
      }
    }
    return fetched;
  }
}

/** The visible records of one partition's response and the offset after everything it covered. */
export function readPartitionData(topic: string, fetchedOffset: string, data: RawPartitionData): FetchedPartition {
  const from = BigInt(fetchedOffset);
  // A fetch may start at the beginning of a record batch before the offset asked for.
  const inRange = data.messages.filter((m) => BigInt(m.offset) >= from);
  let next = from;
  for (const m of data.messages) {
    // The end of a record batch, which compaction or control records may leave past its last record.
    const batchEnd = m.batchContext ? BigInt(m.batchContext.firstOffset) + BigInt(m.batchContext.lastOffsetDelta) + 1n : BigInt(m.offset) + 1n;
    if (batchEnd > next) next = batchEnd;
  }
  const visible = withoutAbortedTransactions(inRange, data.abortedTransactions ?? []).filter((m) => !m.isControlRecord);
  return { topic, partition: data.partition, records: visible, nextOffset: next.toString(), highWatermark: data.highWatermark };
}

/** The control record that ends an aborted transaction: key version 0, type 0 (ABORT). */
function isAbortMarker(message: RawMessage): boolean {
  const key = message.key;
  return message.isControlRecord && key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * Drops the records of aborted transactions, as Kafka's Java consumer does (Fetcher's
 * CompletedFetch): the response lists every aborted transaction overlapping the fetched range
 * by producer and first offset, ordered by when each was aborted, not by where it began. So the
 * list is taken in first-offset order, and before each record batch every aborted transaction
 * that began at or before the batch's last offset is entered; a producer's records are dropped
 * from there until its abort marker. (kafkajs's filter takes the list in the order given and
 * enters one transaction per record, so two producers' interleaved transactions, aborted in the
 * other order or both open where a fetch starts, let aborted records through: a read_committed
 * reader saw the records of a sink transaction aborted by a crash, then the same records
 * committed again.)
 */
export function withoutAbortedTransactions(messages: readonly RawMessage[], abortedTransactions: ReadonlyArray<{ producerId: string; firstOffset: string }>): RawMessage[] {
  if (abortedTransactions.length === 0) return [...messages];
  const pending = abortedTransactions.map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) })).sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborted = new Set<string>();
  let next = 0;
  return messages.filter((message) => {
    const batch = message.batchContext;
    const lastOffset = batch ? BigInt(batch.firstOffset) + BigInt(batch.lastOffsetDelta) : BigInt(message.offset);
    while (next < pending.length && pending[next]!.firstOffset <= lastOffset) aborted.add(pending[next++]!.producerId);
    if (!batch?.inTransaction || batch.producerId === undefined) return true;
    const producerId = String(batch.producerId);
    if (isAbortMarker(message)) {
      aborted.delete(producerId);
      return true; // a control record: dropped by the caller
    }
    return !aborted.has(producerId);
  });
}
