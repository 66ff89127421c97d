import {
  DiscardPolicy,
  jetstreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import type { NatsNames, ServiceName } from '@meterflow/contracts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export interface StreamOptions {
  /** JetStream replicas of every stream (default: `MF_STREAM_REPLICAS`, else 1). */
  replicas?: number;
}

/** `MF_STREAM_REPLICAS` (1 .. 5, default 1); services read it through their validated config. */
export function streamReplicasFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MF_STREAM_REPLICAS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new Error(`MF_STREAM_REPLICAS must be an integer from 1 to 5, not "${raw}"`);
  return n;
}

/**
 * The stream configs Meterflow relies on (nats-server 2.9 compatible: no transforms, no
 * multi-filter). Every stream is file-backed with `replicas` copies: on a JetStream cluster
 * (MF_STREAM_REPLICAS=3) an acked publish is on a majority of the nodes' disks.
 */
export function streamConfigs(
  names: NatsNames,
  services: readonly ServiceName[] = [],
  opts: StreamOptions = {},
): Array<Partial<StreamConfig> & { name: string; subjects: string[] }> {
  const base = {
    storage: StorageType.File,
    num_replicas: opts.replicas ?? streamReplicasFromEnv(),
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(2 * MINUTE),
  };
  return [
    // The producers' buffer: once ingested (acked), events live in Postgres and leave the stream
    // (work-queue retention), so 10M events do not pile up on disk; unconsumed ones are kept
    // 7 days. An operator may cap it in bytes (MF_INGEST_MAX_BYTES); then a full stream refuses
    // new publishes, so a stalled consumer shows up as publish errors at the producers instead
    // of dropped events.
    // Not capped by default: JetStream reserves max_bytes up front for every stream.
    {
      ...base,
      name: names.ingestStream,
      subjects: [names.ingestSubjects],
      retention: RetentionPolicy.Workqueue,
      max_age: nanos(7 * DAY),
      ...(process.env.MF_INGEST_MAX_BYTES ? { max_bytes: Number(process.env.MF_INGEST_MAX_BYTES), discard: DiscardPolicy.New } : {}),
    },
    { ...base, name: names.eventsStream, subjects: [names.eventsSubjects], max_age: nanos(30 * DAY) },
    { ...base, name: names.deadLetterStream, subjects: [names.deadLetterSubjects], max_age: nanos(30 * DAY) },
    ...services.map((svc) => ({
      ...base,
      name: names.serviceStream(svc),
      subjects: [names.serviceSubjects(svc)],
      max_age: nanos(30 * DAY),
    })),
  ];
}

const STREAM_NOT_FOUND = 10059;

/** Create or update (idempotent) MF_INGEST, MF_EVENTS and MF_SVC_<X> for the given services. */
export async function ensureStreams(
  nc: NatsConnection,
  names: NatsNames,
  services: readonly ServiceName[] = [],
  opts: StreamOptions = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const cfg of streamConfigs(names, services, opts)) await ensureStream(jsm, cfg);
}

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    const info = await jsm.streams.info(cfg.name);
    const c = info.config;
    const same =
      JSON.stringify(c.subjects) === JSON.stringify(cfg.subjects) &&
      c.max_age === cfg.max_age &&
      c.duplicate_window === cfg.duplicate_window &&
      // 2.9 changes a stream's replicas in place (the cluster adds or removes peers).
      c.num_replicas === cfg.num_replicas &&
      (cfg.max_bytes === undefined || c.max_bytes === cfg.max_bytes) &&
      (cfg.discard === undefined || c.discard === cfg.discard);
    if (!same) await jsm.streams.update(cfg.name, { ...cfg });
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === STREAM_NOT_FOUND) {
      await jsm.streams.add(cfg);
      return;
    }
    if (e instanceof Error && /stream not found/i.test(e.message)) {
      await jsm.streams.add(cfg);
      return;
    }
    throw e;
  }
}
