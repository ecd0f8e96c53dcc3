// Fraud rules (the broadcast state pattern): rules arrive on one stream and are broadcast to every
// subtask; bids, keyed by bidder, are checked against all rules known so far. Each rule is a
// minimum price; a bid at or above it is an alert, numbered per bidder and rule in keyed state. A
// rule with `"remove": true` withdraws the rule of that id, and applyToKeyedState drops its counts
// from every bidder. Rules are given as a property (JSON), bids come from a bounded, seeded
// Nexmark stream. As in Flink there is no order between the two inputs: bids read before a rule
// arrives are not checked against it.
//
//   npx sluice run examples/fraud-rules.ts --parallelism 2 \
//     --property 'rules.json=[{"id":"large","minPrice":90000000},{"id":"huge","minPrice":99000000}]'

import { MapStateDescriptor, WatermarkStrategy, type Application, type KeyedBroadcastProcessFunction, type MapState } from 'sluice';
import { JsonLinesFileSink, NexmarkSource, type Bid, type NexmarkEvent } from 'sluice/connectors';

interface Rule {
  id: string;
  minPrice: number;
  /** Withdraws the rule of this id instead. */
  remove?: boolean;
}

interface Alert {
  rule: string;
  bidder: number;
  auction: number;
  price: number;
  /** This bidder's alerts of this rule so far, this one included. */
  n: number;
}

const RULES = new MapStateDescriptor<string, Rule>('rules');
/** Per bidder: rule id → alerts. */
const ALERTS = new MapStateDescriptor<string, number>('alerts-by-rule');

const checkBids = (): KeyedBroadcastProcessFunction<number, Bid, Rule, Alert> => {
  let alerts: MapState<string, number>;
  return {
    open(context) {
      alerts = context.getMapState(ALERTS);
    },
    processElement(bid, ctx, out) {
      for (const [id, rule] of ctx.getBroadcastState(RULES).entries()) {
        if (bid.price < rule.minPrice) continue;
        const n = (alerts.get(id) ?? 0) + 1;
        alerts.put(id, n);
        out.collect({ rule: id, bidder: bid.bidder, auction: bid.auction, price: bid.price, n });
      }
    },
    processBroadcastElement(rule, ctx) {
      if (!rule.remove) {
        ctx.getBroadcastState(RULES).put(rule.id, rule);
        return;
      }
      ctx.getBroadcastState(RULES).remove(rule.id);
      // Every bidder of this subtask with alerts: a rule added again under this id counts from 1.
      ctx.applyToKeyedState(ALERTS, (_bidder, counts) => counts.remove(rule.id));
    },
  };
};

function parseRules(json: string): Rule[] {
  let rules: unknown;
  try {
    rules = JSON.parse(json);
  } catch (error) {
    throw new Error(`property rules.json is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(rules)) throw new Error('property rules.json must be a JSON array of {"id": string, "minPrice": number} or {"id": string, "remove": true}');
  return rules.map((rule, i) => {
    const { id, minPrice, remove } = (rule ?? {}) as Partial<Rule>;
    if (typeof id === 'string' && remove === true) return { id, minPrice: 0, remove };
    if (typeof id !== 'string' || typeof minPrice !== 'number') throw new Error(`property rules.json[${i}] must be {"id": string, "minPrice": number} or {"id": string, "remove": true}, got ${JSON.stringify(rule)}`);
    return { id, minPrice };
  });
}

const fraudRules: Application = (env, properties) => {
  const rules = parseRules(properties.rules?.json ?? '[{"id":"large","minPrice":90000000},{"id":"huge","minPrice":99000000}]');
  const events = Number(properties.bids?.events ?? '500000');
  const output = properties.alerts?.output ?? '.sluice/output/fraud-rules';

  const broadcastRules = env.fromCollection(rules).uid('rules').broadcast(RULES);
  env
    .fromSource(new NexmarkSource({ maxEvents: events, seed: 7 }), WatermarkStrategy.noWatermarks<NexmarkEvent>(), 'nexmark')
    .uid('nexmark')
    .filter((event): event is Bid => event.kind === 'bid')
    .keyBy((bid) => (bid as Bid).bidder)
    .connect(broadcastRules)
    .process(checkBids)
    .uid('check-bids')
    .sinkTo(new JsonLinesFileSink<Alert>({ directory: output }))
    .uid('alerts');
};

export default fraudRules;
