// The job's completed checkpoints as the HA store knows them (Flink's CompletedCheckpointStore):
// the pointer `checkpoint-pointer/<jobId>` names the latest, and a checkpoint it does not name does
// not exist. Publishing moves it with a fenced write that compares the previous value. A write
// whose answer is lost may have committed: the store is re-read before anything is decided, so
// the pointer this leader acts on is always the store's.

import { errorChainMessage, FencedError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';

export class CompletedCheckpointStore {
  private pointer: number | undefined;
  /** A pointer write's answer was lost: the store may hold another value than `pointer`. */
  private uncertain = false;

  constructor(
    private readonly ha: HighAvailabilityServices,
    private readonly leadership: Leadership,
    /** `checkpoint-pointer/<jobId>`. */
    private readonly key: string,
    private readonly log: Logger,
    /** Runs a fenced call; a FencedError it throws also tells the owner it lost the leadership. */
    private readonly fenced: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
  ) {}

  /** The latest published checkpoint's id as this leader last read or wrote it (undefined: none yet). */
  get latestId(): number | undefined {
    return this.pointer;
  }

  /** Whether `latestId` may differ from the store's (read it with `read` before relying on it). */
  get isUncertain(): boolean {
    return this.uncertain;
  }

  /** Reads the pointer unfenced: a new leader or a new job, before it writes anything. */
  async load(): Promise<number | undefined> {
    const stored = await this.ha.get(this.key);
    this.pointer = stored === undefined ? undefined : Number(stored);
    return this.pointer;
  }

  /** The pointer as the store has it, read fenced (a deposed leader gets FencedError). */
  async read(): Promise<number | undefined> {
    const stored = await this.fenced(() => this.ha.getFenced(this.leadership, this.key));
    this.pointer = stored === undefined ? undefined : Number(stored);
    this.uncertain = false;
    return this.pointer;
  }

  /** Reads the store first when an earlier answer was lost; else the pointer is already the store's. */
  async settled(): Promise<number | undefined> {
    return this.uncertain ? this.read() : this.pointer;
  }

  /**
   * Moves the pointer to a completed checkpoint. Throws when it is not moved: FencedError when
   * this leader is deposed, the store's error when the write failed (or its answer was lost and
   * the store does not have it).
   */
  async publish(checkpointId: number): Promise<void> {
    const current = await this.settled();
    const previous = current === undefined ? null : String(current);
    try {
      await this.fenced(() => this.ha.putFenced(this.leadership, this.key, String(checkpointId), previous));
    } catch (error) {
      if (error instanceof FencedError) throw error;
      this.uncertain = true;
      if ((await this.read()) !== checkpointId) throw error;
      this.log.warn('the answer to the pointer write was lost; the store has it', { checkpointId, error: errorChainMessage(error) });
    }
    this.pointer = checkpointId;
  }
}
