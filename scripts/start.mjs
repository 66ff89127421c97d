// `pnpm start`: the whole system on this machine, using the Postgres and NATS it finds
// (or starting them), until Ctrl-C.
import { startStack } from './stack.mjs';

const stack = await startStack({ env: { MF_NAMESPACE: process.env.MF_NAMESPACE ?? '' } }).catch((e) => {
  // Infrastructure problems say what to do; no stack trace for those.
  console.error(`[meterflow] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
const key = (process.env.MF_API_KEYS ?? 'sk_test_meterflow').split(',')[0];
console.log(`
Meterflow is running.
  Stripe API:  ${stack.apiUrl}   (secret key: ${key})
  Console:     ${stack.apiUrl}/console   (sign in with the secret key)
  Postgres:    ${stack.databaseUrl.replace(/:[^:@/]*@/, ':***@')}
  NATS:        ${stack.natsUrl}   (producers publish to mf.ingest.meter_events, events on mf.events.>)

  import Stripe from 'stripe';
  const stripe = new Stripe('${key}', { host: '127.0.0.1', port: ${stack.gatewayPort}, protocol: 'http' });
  const meter = await stripe.billing.meters.create({
    display_name: 'API calls', event_name: 'api_call', default_aggregation: { formula: 'sum' },
  });

Try the seed scenario: pnpm demo      Stop: Ctrl-C
`);
const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
