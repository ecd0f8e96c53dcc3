// The consumer process of the data-plane benchmark (started by data-plane-benchmark.ts with
// `node --import tsx`, talking to it over the IPC channel). For each phase it registers the
// phase's input channels, takes every batch as a task would (which returns credit), counts the
// records and, in latency phases, measures now − the send time stamped in each record.

import { DataPlane } from '../../worker/network/data-plane.ts';
import { InputChannel } from '../../worker/runtime/exchange.ts';
import { createLogger } from '../../shared/logging.ts';
import { LatencyHistogram, monotonicNowMs, type FromConsumer, type ToConsumer } from './data-plane-bench-protocol.ts';

const token = process.env.SLUICE_BENCH_TOKEN;
if (token === undefined) throw new Error('SLUICE_BENCH_TOKEN is not set: this process is started by benchmarks/cluster/data-plane-benchmark.ts');
const send = (message: FromConsumer) => process.send!(message);

const plane = await DataPlane.create({
  host: '127.0.0.1',
  port: 0,
  token,
  workerId: 'bench-consumer',
  logger: createLogger({ process: 'data-plane-consumer' }, process.env.SLUICE_LOG_LEVEL ?? 'warn'),
});
plane.onChannelFailure((error, keys) => {
  console.error(`consumer: channels ${keys.join(', ')} failed: ${error.message}`);
  process.exit(1);
});

function startPhase(name: string, keys: string[], measureLatency: boolean): void {
  let records = 0;
  let ended = 0;
  let scheduled = false;
  const histogram = measureLatency ? new LatencyHistogram() : undefined;
  const channels: InputChannel[] = [];
  const drain = () => {
    scheduled = false;
    for (const channel of channels) {
      for (let event = channel.take(); event !== undefined; event = channel.take()) {
        if (event.kind === 'records') {
          records += event.values.length;
          if (histogram !== undefined) {
            const now = monotonicNowMs();
            for (const value of event.values) histogram.record(now - (value as { dateTime: number }).dateTime, 1);
          }
        } else if (event.kind === 'end' && ++ended === channels.length) {
          send({ type: 'phaseDone', name, records, endReceivedAtMs: monotonicNowMs(), ...(histogram ? { latency: histogram.summary() } : {}) });
          plane.releaseChannels(`${name}/`);
          return;
        }
      }
    }
  };
  const onData = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  };
  for (const key of keys) {
    const channel = new InputChannel(0, key, onData);
    channels.push(channel);
    plane.registerInput(key, channel);
  }
  send({ type: 'registered', name });
}

process.on('message', (message: ToConsumer) => {
  if (message.type === 'phase') startPhase(message.name, message.keys, message.measureLatency);
  else void plane.close().then(() => process.exit(0));
});
send({ type: 'ready', address: plane.address });
