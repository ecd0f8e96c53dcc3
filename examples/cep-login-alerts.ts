// Login alerts with Flink CEP: per user, three failed logins in a row followed by a successful
// one, all within 10 s of the first failure, is a possible break-in (an alert); three failures
// with no success within those 10 s lock the account (a timed-out partial match, on a side
// output). Logins are matched in event time, so the order they arrive in does not matter within
// the watermark's 5 s bound. Reads JSON lines ({"user", "ok", "t"}) from `input.path`, or a small
// built-in sample; writes alerts and lockouts as JSON lines.
//
//   npx sluice run examples/cep-login-alerts.ts --property input.path=logins.jsonl

import {
  AfterMatchSkipStrategy,
  CEP,
  OutputTag,
  Pattern,
  WatermarkStrategy,
  type Application,
  type Collector,
  type DataStream,
  type PatternProcessContext,
  type PatternProcessFunction,
  type TimedOutPartialMatchHandler,
} from 'sluice';
import { JsonLinesFileSink, JsonLinesFileSource } from 'sluice/connectors';

export interface Login {
  readonly user: string;
  readonly ok: boolean;
  /** Event time, epoch ms. */
  readonly t: number;
}

export interface Notice {
  readonly user: string;
  readonly kind: 'break-in' | 'lockout';
  /** When the failures were, and for a break-in when the login succeeded. */
  readonly failedAt: readonly number[];
  readonly succeededAt?: number;
}

export const LOCKOUTS = new OutputTag<Notice>('lockouts');

// One alert per burst: after a match, skip past its last login.
const breakIn = Pattern.begin<Login>('failures', AfterMatchSkipStrategy.skipPastLastEvent())
  .where((login) => !login.ok)
  .times(3)
  .consecutive()
  .next('success')
  .where((login) => login.ok)
  .within(10_000);

class LoginNotices implements PatternProcessFunction<Login, Notice>, TimedOutPartialMatchHandler<Login> {
  processMatch(match: Map<string, Login[]>, _ctx: PatternProcessContext, out: Collector<Notice>): void {
    const failures = match.get('failures')!;
    out.collect({ user: failures[0]!.user, kind: 'break-in', failedAt: failures.map((l) => l.t), succeededAt: match.get('success')![0]!.t });
  }

  processTimedOutMatch(match: Map<string, Login[]>, ctx: PatternProcessContext): void {
    // Shorter partial matches (one or two failures) time out too; only three failures lock.
    const failures = match.get('failures') ?? [];
    if (failures.length === 3) ctx.output(LOCKOUTS, { user: failures[0]!.user, kind: 'lockout', failedAt: failures.map((l) => l.t) });
  }
}

/** The alerts; the lockouts are its side output LOCKOUTS. */
export function loginNotices(logins: DataStream<Login>) {
  return CEP.pattern(logins.keyBy((login) => login.user), breakIn).process(() => new LoginNotices()).uid('login-notices');
}

export const SAMPLE: readonly Login[] = [
  { user: 'ann', ok: false, t: 1_000 },
  { user: 'ann', ok: false, t: 3_000 },
  { user: 'bob', ok: false, t: 3_500 },
  { user: 'ann', ok: true, t: 5_000 },
  { user: 'ann', ok: false, t: 4_000 }, // late by a second: still ann's third failure
  { user: 'bob', ok: false, t: 4_000 },
  { user: 'bob', ok: false, t: 6_000 },
  { user: 'cid', ok: false, t: 7_000 },
  { user: 'cid', ok: true, t: 8_000 },
  { user: 'bob', ok: true, t: 30_000 }, // too late for bob: locked at 13 500
];

const loginAlerts: Application = (env, properties) => {
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Login>(5_000).withTimestampAssigner((login) => login.t);
  const input = properties.input?.path;
  const logins = input === undefined ? env.fromCollection(SAMPLE, strategy) : env.fromSource(new JsonLinesFileSource<Login>({ paths: [input] }), strategy, 'logins');
  const output = properties.output?.path ?? '.sluice/output/cep-login-alerts';
  const notices = loginNotices(logins.uid('logins'));
  notices.sinkTo(new JsonLinesFileSink<Notice>({ directory: `${output}/alerts` })).uid('alerts');
  notices.getSideOutput(LOCKOUTS).sinkTo(new JsonLinesFileSink<Notice>({ directory: `${output}/lockouts` })).uid('lockouts');
};

export default loginAlerts;
