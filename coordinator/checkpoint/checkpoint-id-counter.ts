// The job's checkpoint ids, monotone across leaders (Flink's CheckpointIDCounter): each id is
// reserved by a fenced write to the HA store before it is used, so a new leader continues above
// every id an old one may have handed out, and a deposed leader can reserve nothing.

import { FencedError } from '../../shared/errors.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';

export class CheckpointIdCounter {
  /** The highest id this leader knows reserved: loaded, or written and acknowledged. */
  private reserved = 0;
  /**
   * The highest id a write was attempted for. A write whose answer was lost may have committed,
   * and another leader may load it: the next reservation goes above it, so no id is used twice.
   */
  private attempted = 0;
  private inFlight: Promise<unknown> = Promise.resolve();
  private reservations = 0;

  constructor(
    private readonly ha: HighAvailabilityServices,
    private readonly leadership: Leadership,
    /** `checkpoint-counter/<jobId>`. */
    private readonly key: string,
  ) {}

  /** The highest reserved id (0: none yet). */
  get current(): number {
    return this.reserved;
  }

  /** A reservation is being written: the caller should not trigger before it is done. */
  get isReserving(): boolean {
    return this.reservations > 0;
  }

  /** Reads the stored counter (a new leader, or a new job); ids below `atLeast` are taken too (a restored checkpoint's). */
  async load(atLeast = 0): Promise<number> {
    const stored = await this.ha.get(this.key);
    this.reserved = Math.max(this.reserved, stored === undefined ? 0 : Number(stored), atLeast);
    return this.reserved;
  }

  /**
   * Reserves and returns the next id, at least `atLeast`. Reservations run one at a time. Throws
   * FencedError when this leadership no longer holds (nothing advances: nothing was written), or
   * the store's error when the write may or may not have happened.
   */
  async reserve(atLeast = 0): Promise<number> {
    this.reservations++;
    const reservation = this.inFlight.then(() => this.write(atLeast));
    this.inFlight = reservation.catch(() => {});
    try {
      return await reservation;
    } finally {
      this.reservations--;
    }
  }

  private async write(atLeast: number): Promise<number> {
    const id = Math.max(atLeast, this.reserved + 1, this.attempted + 1);
    try {
      await this.ha.putFenced(this.leadership, this.key, String(id));
    } catch (error) {
      if (!(error instanceof FencedError)) this.attempted = id;
      throw error;
    }
    this.attempted = this.reserved = id;
    return id;
  }
}
