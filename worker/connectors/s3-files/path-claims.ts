// Which job owns an S3 file sink's path. Every job names its files `part-<subtask>-<n>` and, on
// restore, aborts the uploads of those names that its checkpoint does not hold: two jobs writing
// one path (a job and its replacement restored from a snapshot while the old one still runs, two
// submissions of one application) would abort each other's uploads in a loop. So each job claims
// the path with an object `_sluice/claims/<submittedAtMs>-<jobId>.json`, and the job submitted
// last owns it: an earlier job refuses to start, and stops at its next commit, once a later one
// has claimed. The subtasks and attempts of one job share one claim.

import { isLaterJob, type JobIdentity, type SinkWriterContext } from '../../../shared/api/connectors.ts';
import { ConfigurationError, SluiceError } from '../../../shared/errors.ts';
import { ObjectExistsError } from '../../../shared/object-store/errors.ts';
import type { ObjectStore } from '../../../shared/object-store/object-store.ts';
import { storeError } from './store-error.ts';

/** The folder of the sink's own objects; Athena and Hive skip folders that begin with `_`. */
export const SINK_METADATA_FOLDER = '_sluice';
const CLAIMS_PREFIX = `${SINK_METADATA_FOLDER}/claims/`;
/** The submission time is zero-padded to this many digits, so claims list in submission order. */
const SUBMITTED_AT_DIGITS = 15;
const CLAIM_KEY = new RegExp(`^${SINK_METADATA_FOLDER}/claims/(\\d{${SUBMITTED_AT_DIGITS}})-([^/]+)\\.json$`);

/** The job a claim names (its key holds the submission time and the job id). */
export type PathClaim = JobIdentity;

/** What a claim object holds: enough for a person looking at the bucket, and for the refusal message. */
interface PathClaimRecord {
  readonly jobId: string;
  readonly submittedAtMs: number;
  readonly jobName: string;
  readonly claimedAt: string;
}

/** Whether a key is one of the sink's own objects, never a part file. */
export function isSinkMetadataKey(key: string): boolean {
  return key.startsWith(`${SINK_METADATA_FOLDER}/`);
}

export function pathClaimKey(claim: PathClaim): string {
  // Encoded so that a job id with a `/` stays one key segment.
  return `${CLAIMS_PREFIX}${String(claim.submittedAtMs).padStart(SUBMITTED_AT_DIGITS, '0')}-${encodeURIComponent(claim.id)}.json`;
}

/** The job a claim's key names; undefined for an object under `_sluice/claims/` that is no claim. */
export function parsePathClaimKey(key: string): PathClaim | undefined {
  const match = CLAIM_KEY.exec(key);
  if (!match) return undefined;
  try {
    return { id: decodeURIComponent(match[2]!), submittedAtMs: Number(match[1]) };
  } catch {
    return undefined;
  }
}

/** The claims on one path as one job sees them: claim once before writing, check before every commit. */
export class PathClaims {
  private readonly own: PathClaim;

  constructor(private readonly store: ObjectStore, private readonly sinkName: string, private readonly context: SinkWriterContext) {
    const { id, submittedAtMs } = context.job;
    if (typeof id !== 'string' || id === '' || !Number.isSafeInteger(submittedAtMs) || submittedAtMs < 0 || submittedAtMs >= 10 ** SUBMITTED_AT_DIGITS) {
      throw new SluiceError(`${sinkName}: the job identity ${JSON.stringify(context.job)} has no id or no valid submission time (ms since the epoch)`);
    }
    this.own = { id, submittedAtMs };
  }

  /**
   * Refuses when a later job has claimed the path; else writes this job's claim, unless a
   * subtask of this job did already, and removes the claims of earlier jobs: they decide nothing
   * any more, and would pile up with every replacement.
   */
  async claim(): Promise<void> {
    const claims = await this.list();
    await this.refuseIfSuperseded(claims);
    const ownKey = pathClaimKey(this.own);
    if (!claims.some((c) => c.key === ownKey)) {
      const record: PathClaimRecord = { jobId: this.own.id, jobName: this.context.jobName, submittedAtMs: this.own.submittedAtMs, claimedAt: new Date().toISOString() };
      try {
        await this.store.put(ownKey, Buffer.from(`${JSON.stringify(record)}\n`), { ifNoneMatch: true });
      } catch (error) {
        // Another subtask of this job came first: the claim is the same.
        if (!(error instanceof ObjectExistsError)) throw storeError(this.sinkName, this.store, `cannot write the claim ${ownKey} of job ${this.own.id}`, error);
      }
    }
    const earlier = claims.filter((c) => c.id !== this.own.id && isLaterJob(this.own, c)).map((c) => c.key);
    // Best effort: a claim left behind costs one list entry, and the next claim removes it.
    if (earlier.length > 0) await this.store.delete(earlier).catch(() => {});
  }

  /** Refuses when a later job has claimed the path since: one list call, nothing cached or written. */
  async checkStillOwner(): Promise<void> {
    await this.refuseIfSuperseded(await this.list());
  }

  private async list(): Promise<Array<PathClaim & { readonly key: string }>> {
    let objects;
    try {
      objects = await this.store.list(CLAIMS_PREFIX);
    } catch (error) {
      throw storeError(this.sinkName, this.store, `cannot list the claims of the path (${CLAIMS_PREFIX})`, error);
    }
    return objects.flatMap(({ key }) => {
      const claim = parsePathClaimKey(key);
      return claim ? [{ ...claim, key }] : [];
    });
  }

  private async refuseIfSuperseded(claims: ReadonlyArray<PathClaim & { readonly key: string }>): Promise<void> {
    let latest: (PathClaim & { readonly key: string }) | undefined;
    for (const c of claims) {
      if (c.id !== this.own.id && isLaterJob(c, this.own) && (!latest || isLaterJob(c, latest))) latest = c;
    }
    if (!latest) return;
    const jobName = await this.jobNameOf(latest.key);
    throw new ConfigurationError(
      'path',
      `${this.sinkName}: ${this.store.location} is claimed by job ${latest.id}${jobName === undefined ? '' : ` (${jobName})`}, ` +
        `submitted at ${new Date(latest.submittedAtMs).toISOString()}, after this job ${this.own.id} (${this.context.jobName}), ` +
        `submitted at ${new Date(this.own.submittedAtMs).toISOString()}; the later job owns the path (claim ${latest.key}). ` +
        "Two jobs writing one path would abort each other's uploads: give each job its own path, or stop the earlier one",
    );
  }

  /** Read only to refuse, so the check itself stays one list call; a claim that cannot be read just goes unnamed. */
  private async jobNameOf(key: string): Promise<string | undefined> {
    try {
      const record = JSON.parse(Buffer.from(await this.store.get(key)).toString('utf8')) as Partial<PathClaimRecord>;
      return typeof record.jobName === 'string' ? record.jobName : undefined;
    } catch {
      return undefined;
    }
  }
}
