import { API_ROUTES } from './api-routes.js';
import { CLOCK_OPS } from './clock-protocol.js';
import { EXPLANATION_OPS } from './explanation.js';
import { CREDIT_LEDGER_OPS, INGESTION_OPS, INVOICING_OPS, RATING_OPS } from './internal-ops.js';
import { PREVIEW_OPS } from './preview-ops.js';
import { natsNames, SERVICES, type NatsNames, type ServiceName } from './subjects.js';

/**
 * Who may do what on NATS: one user per service, one for producers, one per downstream
 * consumer. The NATS server configuration (deploy/compose/nats.conf, the Kubernetes base's
 * nats-auth.conf, the chaos suite's own server) is rendered from these tables, and each
 * service's RpcClient refuses a call its table does not name, so a missing entry fails in
 * every test instead of in production. Only nats-server 2.9 features (users with
 * publish/subscribe allow lists and `allow_responses`).
 */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
  /** May publish to the reply subject of a request it received (request/reply servers). */
  allowResponses: boolean;
}

/**
 * The inbox prefix of a NATS user: every reply it receives (request/reply, JetStream API answers
 * and publish acks, pull-consumer deliveries) comes to `<prefix>.>`, and it may subscribe there
 * only, so no user can read another's replies. nats.js takes it as the `inboxPrefix` connect
 * option (`connectNats` and the CLI set it from NATS_USER). Without a user (a server without
 * authorization, `./mf start`) it is nats.js's default `_INBOX`.
 */
export function natsInboxPrefix(user?: string): string {
  if (!user) return '_INBOX';
  if (!/^[A-Za-z0-9_-]+$/.test(user))
    throw new Error(`NATS user ${JSON.stringify(user)}: use letters, digits, '-' and '_' only (it names the inbox prefix)`);
  return `_INBOX_${user}`;
}

const inboxOf = (user: string): string => `${natsInboxPrefix(user)}.>`;

export interface RpcCall {
  service: ServiceName;
  op: string;
}

const READ_CUSTOMERS: RpcCall[] = [
  { service: 'rating', op: 'customers.retrieve' },
  { service: 'rating', op: 'test_clocks.retrieve' },
];
const clockCalls = (to: ServiceName[]): RpcCall[] =>
  to.flatMap((service) => [CLOCK_OPS.nextDue, CLOCK_OPS.advanceTo].map((op) => ({ service, op })));

/** Every request/reply op each service sends (the gateway: every public route). */
export const RPC_CALLS: Readonly<Record<ServiceName, readonly RpcCall[]>> = {
  gateway: API_ROUTES.map((r) => ({ service: r.service, op: r.op })),
  'meter-ingestion': READ_CUSTOMERS,
  rating: [
    { service: 'meter-ingestion', op: INGESTION_OPS.usageQuery },
    { service: 'meter-ingestion', op: 'meters.retrieve' },
    { service: 'invoicing', op: INVOICING_OPS.createSubscriptionInvoice },
    { service: 'invoicing', op: INVOICING_OPS.createSubscriptionInvoices },
    ...clockCalls(['meter-ingestion', 'invoicing', 'credit-ledger']),
  ],
  invoicing: [
    ...READ_CUSTOMERS,
    { service: 'rating', op: 'prices.retrieve' },
    { service: 'rating', op: RATING_OPS.ratePeriod },
    { service: 'rating', op: RATING_OPS.ratePeriods },
    { service: 'credit-ledger', op: CREDIT_LEDGER_OPS.applyCredits },
    { service: 'credit-ledger', op: CREDIT_LEDGER_OPS.applyCreditsMany },
    { service: 'rating', op: EXPLANATION_OPS.explainLines },
    { service: 'credit-ledger', op: EXPLANATION_OPS.explainCredits },
    { service: 'rating', op: PREVIEW_OPS.previewInvoice },
    { service: 'credit-ledger', op: PREVIEW_OPS.previewCredits },
    // a clock's close, partitioned by customer, spread over invoicing's own replicas
    { service: 'invoicing', op: INVOICING_OPS.advancePartition },
  ],
  'credit-ledger': READ_CUSTOMERS,
};

/** The JetStream durable consumers each service reads (stream and durable name). */
export function serviceConsumers(names: NatsNames, svc: ServiceName): Array<{ stream: string; durable: string }> {
  switch (svc) {
    case 'meter-ingestion':
      return [{ stream: names.ingestStream, durable: names.durable(svc, 'ingest') }];
    case 'gateway':
      return [{ stream: names.eventsStream, durable: names.durable(svc, 'events') }];
    case 'credit-ledger':
      return ['invoice_voided', 'invoice_paid'].map((p) => ({ stream: names.eventsStream, durable: names.durable(svc, p) }));
    default:
      return [];
  }
}

/** The subjects `svc` may request: `mf.rpc.<service>.<op>` of each entry of RPC_CALLS, and its batched form (`.batch`). */
export function rpcCallSubjects(names: NatsNames, svc: ServiceName): Set<string> {
  return new Set(RPC_CALLS[svc].flatMap((c) => [names.rpcSubject(c.service, c.op), names.rpcBatchSubject(c.service, c.op)]));
}

/** The JetStream API a client needs to bind a durable pull consumer, pull from it and ack. */
function consumerApi(stream: string, durable: string): string[] {
  return [
    `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `$JS.ACK.${stream}.${durable}.>`,
  ];
}

/** What one service may do: serve its own ops, call the ops it names, its streams and consumers. */
export function servicePermissions(names: NatsNames, svc: ServiceName): NatsPermissions {
  // Every service makes (idempotently) the shared streams and its own at boot.
  const streams = [names.ingestStream, names.eventsStream, names.deadLetterStream, names.serviceStream(svc)];
  return {
    publish: [
      '$JS.API.INFO',
      ...streams.flatMap((s) => ['INFO', 'CREATE', 'UPDATE'].map((a) => `$JS.API.STREAM.${a}.${s}`)),
      ...serviceConsumers(names, svc).flatMap((c) => consumerApi(c.stream, c.durable)),
      // The gateway reads the Stripe events' bodies from MF_EVENTS by sequence (its consumer takes headers only).
      ...(svc === 'gateway' ? [`$JS.API.STREAM.MSG.GET.${names.eventsStream}`] : []),
      // The outbox relay: its domain events and the Stripe events it records.
      names.serviceSubjects(svc),
      names.eventsSubjects,
      names.deadLetterSubject(svc),
      names.heartbeatSubjects,
      ...(svc === 'meter-ingestion' ? [names.ingestSubjects] : []),
      ...rpcCallSubjects(names, svc),
    ],
    subscribe: [names.rpcSubject(svc, '>'), inboxOf(svc), names.heartbeatSubjects],
    allowResponses: true,
  };
}

/** Producers (user `producer`): publish meter events to MF_INGEST and receive JetStream's acks, nothing else. */
export function producerPermissions(names: NatsNames): NatsPermissions {
  return { publish: [names.ingestSubjects], subscribe: [inboxOf('producer')], allowResponses: false };
}

/** A downstream consumer `user`: read MF_EVENTS through its own durable consumers (by name), nothing else. */
export function downstreamPermissions(names: NatsNames, user: string, durables: readonly string[]): NatsPermissions {
  return {
    publish: ['$JS.API.INFO', `$JS.API.STREAM.INFO.${names.eventsStream}`, ...durables.flatMap((d) => consumerApi(names.eventsStream, d))],
    subscribe: [inboxOf(user)],
    allowResponses: false,
  };
}

export interface NatsUser {
  user: string;
  /** A literal password, or `{ env: 'NAME' }` for nats-server's `$NAME` substitution. */
  password: string | { env: string };
  permissions: NatsPermissions;
}

/** The users of a Meterflow system: one per service (named after it), `producer`, and downstream consumers. */
export function meterflowNatsUsers(
  names: NatsNames,
  password: (user: string) => NatsUser['password'],
  downstream: Record<string, readonly string[]> = { consumer: ['billing-app'] },
): NatsUser[] {
  return [
    ...SERVICES.map((s) => ({ user: s, password: password(s), permissions: servicePermissions(names, s) })),
    { user: 'producer', password: password('producer'), permissions: producerPermissions(names) },
    ...Object.entries(downstream).map(([user, durables]) => ({
      user,
      password: password(user),
      permissions: downstreamPermissions(names, user, durables),
    })),
  ];
}

const q = (s: string): string => JSON.stringify(s);

/** An `authorization { users = [...] }` block for nats.conf. */
export function renderNatsAuthorization(users: readonly NatsUser[]): string {
  const list = (xs: string[]) => `[\n${xs.map((x) => `          ${q(x)}`).join('\n')}\n        ]`;
  const entries = users.map((u) => {
    const pw = typeof u.password === 'string' ? q(u.password) : `$${u.password.env}`;
    return [
      `    {`,
      `      user: ${q(u.user)}`,
      `      password: ${pw}`,
      `      permissions: {`,
      `        publish: { allow: ${list(u.permissions.publish)} }`,
      `        subscribe: { allow: ${list(u.permissions.subscribe)} }`,
      ...(u.permissions.allowResponses ? [`        allow_responses: true`] : []),
      `      }`,
      `    }`,
    ].join('\n');
  });
  return `authorization {\n  users = [\n${entries.join('\n')}\n  ]\n}\n`;
}

/** The environment variable holding a user's password in the rendered deployment configs. */
export const natsPasswordEnv = (user: string): string => `NATS_PASSWORD_${user.toUpperCase().replace(/-/g, '_')}`;

const GENERATED = '# Generated by `pnpm nats:conf` from libs/contracts/src/nats-permissions.ts: edit the tables there, not this file.';

/** The NATS server configuration of docker-compose.yml (deploy/compose/nats.conf). */
export function composeNatsConf(): string {
  return [
    GENERATED,
    '#',
    '# NATS for the compose stack: JetStream on, monitoring on 8222 for the healthcheck, and one user',
    '# per role (each service, `producer`, `consumer`) with only the subjects it needs; passwords come',
    "# from the container's environment (NATS_PASSWORD_<USER>, set in docker-compose.yml). Each user",
    '# receives replies on its own inbox prefix only: clients connect with `inboxPrefix: "_INBOX_<user>"`.',
    'port: 4222',
    'http_port: 8222',
    '',
    'jetstream {',
    '  store_dir: /data',
    '}',
    '',
    renderNatsAuthorization(meterflowNatsUsers(natsNamesForConf, (u) => ({ env: natsPasswordEnv(u) }))),
  ].join('\n');
}

/** The authorization block the Kubernetes base ships for the operator's NATS server (deploy/k8s/base/nats-auth.conf). */
export function kubernetesNatsAuthConf(): string {
  return [
    GENERATED,
    '#',
    '# `include` this from the NATS server configuration (ConfigMap `meterflow-nats-auth`, key',
    "# `auth.conf`), with NATS_PASSWORD_<USER> in the server's environment from the Secret",
    '# `meterflow-secrets` (keys nats-password-<user>). Each user receives replies on its own inbox',
    '# prefix only: clients connect with `inboxPrefix: "_INBOX_<user>"`. See docs/operations.md.',
    renderNatsAuthorization(meterflowNatsUsers(natsNamesForConf, (u) => ({ env: natsPasswordEnv(u) }))),
  ].join('\n');
}

/** Deployments run without MF_NAMESPACE. */
const natsNamesForConf = natsNames('');
