// Deletes JetStream streams that test and benchmark runs left behind (their namespaces are
// random: T<10 hex>_, E2E<8 hex>_, BENCH<8 hex>_), once they are older than 30 minutes so a run
// still going on beside this one keeps its own. Called after `pnpm test`; safe to run by hand.
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const LEFTOVER = /^(T[0-9A-F]{10}|E2E[0-9A-F]{8}|BENCH[0-9A-F]{8})_MF_/;

export async function sweepTestStreams(natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222', olderThanMs = 30 * 60_000) {
  const nc = await connect({ servers: natsUrl, name: 'meterflow-sweep' });
  let deleted = 0;
  try {
    const jsm = await jetstreamManager(nc);
    const stale = [];
    for await (const si of jsm.streams.list()) {
      if (LEFTOVER.test(si.config.name) && Date.now() - new Date(si.created).getTime() > olderThanMs) stale.push(si.config.name);
    }
    for (const name of stale) {
      await jsm.streams.delete(name).catch(() => undefined);
      deleted++;
    }
  } finally {
    await nc.drain();
  }
  return deleted;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = await sweepTestStreams(undefined, Number(process.argv[2] ?? 30) * 60_000);
  console.log(`[meterflow] deleted ${n} leftover test streams`);
}
