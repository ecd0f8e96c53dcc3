// A stream's shards as the source sees them: listing them (ListShards, all pages), choosing the
// ones a fresh job starts with, ordering them by hash-key range, and finding a shard's children
// after resharding. Kinesis creates shards only by resharding (SplitShard, MergeShards,
// UpdateShardCount), so every shard that appears after a job started has a parent it started with.

import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';

export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  readonly adjacentParentShardId: string | undefined;
  readonly startingHashKey: bigint;
  /** A closed shard has an ending sequence number: nothing is written to it any more. */
  readonly closed: boolean;
}

const MAX_PAGES = 1000;

export async function listShards(client: KinesisClient, streamName: string, abortSignal?: AbortSignal): Promise<ShardInfo[]> {
  const shards: ShardInfo[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }), abortSignal ? { abortSignal } : {});
    for (const shard of response.Shards ?? []) shards.push(toShardInfo(shard));
    nextToken = response.NextToken;
    if (!nextToken) return shards;
  }
  throw new Error(`ListShards of ${streamName} returned more than ${MAX_PAGES} pages`);
}

function toShardInfo(shard: Shard): ShardInfo {
  return {
    shardId: shard.ShardId!,
    parentShardId: shard.ParentShardId || undefined,
    adjacentParentShardId: shard.AdjacentParentShardId || undefined,
    startingHashKey: BigInt(shard.HashKeyRange?.StartingHashKey ?? '0'),
    closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
  };
}

/**
 * The shards a fresh job starts with, sorted by starting hash key so that the runtime's
 * round-robin gives each subtask hash ranges spread over the key space.
 *
 * Reading from the oldest records (trim horizon, a timestamp), only the roots: shards none of
 * whose parents are still listed. Their descendants are read by the subtask that reads the root,
 * after it (see `childrenToClaim`), which keeps parents before children. Reading from the latest
 * records, closed shards have nothing more to give, so the open shards are the splits.
 */
export function initialShards(shards: readonly ShardInfo[], fromOldest: boolean): ShardInfo[] {
  const listed = new Set(shards.map((s) => s.shardId));
  const chosen = fromOldest
    ? shards.filter((s) => !(s.parentShardId && listed.has(s.parentShardId)) && !(s.adjacentParentShardId && listed.has(s.adjacentParentShardId)))
    : shards.filter((s) => !s.closed);
  return [...chosen].sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : a.startingHashKey > b.startingHashKey ? 1 : a.shardId < b.shardId ? -1 : 1));
}

/**
 * What the subtask that has read shard `parentId` to its end does next. A child belongs to the
 * subtask that holds its `ParentShardId`: exactly one subtask holds any shard, so exactly one
 * claims each child, without asking anyone. A merged child also has an adjacent parent, read by
 * whoever holds it; `adjacentPending` says whether this subtask holds it and has not finished it,
 * in which case the child waits.
 *
 * `done`: the parent's children exist (it is closed and Kinesis has listed them) and every one
 * this subtask should claim is in `claim`; false: list again later.
 */
export function childrenToClaim(
  shards: readonly ShardInfo[],
  parentId: string,
  adjacentPending: (shardId: string) => boolean,
): { claim: ShardInfo[]; done: boolean } {
  const children = shards.filter((s) => s.parentShardId === parentId || s.adjacentParentShardId === parentId);
  if (children.length === 0) return { claim: [], done: false };
  const listed = new Set(shards.map((s) => s.shardId));
  // A merged child whose parent has expired (past retention) was a root at start: it goes with its adjacent parent.
  const mine = children.filter((s) => s.parentShardId === parentId || (s.parentShardId !== undefined && !listed.has(s.parentShardId)));
  const otherParent = (s: ShardInfo) => (s.parentShardId === parentId ? s.adjacentParentShardId : s.parentShardId);
  if (mine.some((s) => { const other = otherParent(s); return other !== undefined && adjacentPending(other); })) return { claim: [], done: false };
  return { claim: mine, done: true };
}
