import pg from 'pg';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { DeadLetterStore, JetStreamPublisher } from '@meterflow/messaging';
import { SERVICE_SCHEMAS, type CliConfig, type ServiceWithSchema } from './config.js';
import { fallbackMessageId, parseRef, replayMessage, type DeadLetterEntry } from './dead-letter-plan.js';

export interface ListOptions {
  service?: ServiceWithSchema;
  limit: number;
}

const schemasOf = (service?: ServiceWithSchema): string[] => (service ? [SERVICE_SCHEMAS[service]] : Object.values(SERVICE_SCHEMAS));

async function hasTable(pool: pg.Pool, schema: string): Promise<boolean> {
  const { rows } = await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`"${schema}".dead_letters`]);
  return rows[0]!.ok;
}

/**
 * Dead letters, newest first: every service schema's `dead_letters` table, then the
 * MF_DEAD_LETTERS stream (entries Postgres refused or could not take). `nc` may be absent
 * (NATS down): then only the tables.
 */
export async function listDeadLetters(
  cfg: CliConfig,
  pool: pg.Pool,
  nc: NatsConnection | undefined,
  opts: ListOptions,
): Promise<DeadLetterEntry[]> {
  const out: DeadLetterEntry[] = [];
  for (const schema of schemasOf(opts.service)) {
    if (!(await hasTable(pool, schema))) continue;
    for (const d of await new DeadLetterStore(pool, schema).list({ limit: opts.limit }))
      out.push({
        ref: `${schema}:${d.id}`,
        source: 'postgres',
        consumer: d.consumer,
        subject: d.subject,
        messageId: d.messageId,
        reason: d.reason,
        recordedAt: d.recordedAt,
        data: d.data ?? '',
        headers: d.headers ?? {},
      });
  }
  if (nc) out.push(...(await listFallback(cfg, await jetstreamManager(nc), opts)));
  return out.sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime()).slice(0, opts.limit);
}

async function listFallback(cfg: CliConfig, jsm: JetStreamManager, opts: ListOptions): Promise<DeadLetterEntry[]> {
  const stream = cfg.names.deadLetterStream;
  let last: number;
  let first: number;
  try {
    const si = await jsm.streams.info(stream);
    if (si.state.messages === 0) return [];
    last = si.state.last_seq;
    first = si.state.first_seq;
  } catch {
    return [];
  }
  const subject = opts.service ? cfg.names.deadLetterSubject(opts.service) : undefined;
  const out: DeadLetterEntry[] = [];
  for (let seq = last; seq >= first && out.length < opts.limit; seq--) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m || (subject && m.subject !== subject)) continue;
    out.push(fallbackEntry(stream, m.seq, m.time, m.data, m.header));
  }
  return out;
}

function fallbackEntry(
  stream: string,
  seq: number,
  time: Date,
  data: Uint8Array,
  h: { keys(): string[]; get(k: string): string },
): DeadLetterEntry {
  const headers: Record<string, string> = {};
  for (const k of h?.keys() ?? []) headers[k] = h.get(k);
  const consumer = headers['mf-dead-letter-consumer'] ?? '?';
  return {
    ref: `${stream}:${seq}`,
    source: 'jetstream',
    consumer,
    subject: headers['mf-dead-letter-subject'] ?? '?',
    messageId: fallbackMessageId(headers, consumer),
    reason: headers['mf-dead-letter-reason'] ?? '',
    recordedAt: time,
    data: new TextDecoder().decode(data),
    headers,
  };
}

export type ReplayOutcome = 'replayed' | 'held' | 'failed';

export interface ReplayResult {
  ref: string;
  outcome: ReplayOutcome;
  detail: string;
}

/**
 * Send dead letters back to the subject they were consumed from (see `replayMessage` for the
 * message id), and remove each once JetStream has stored it: a message that fails again comes
 * back as a new dead letter with its new reason. One the stream still remembers (same id within
 * its 2-minute duplicate window) is held, not removed.
 */
export async function replayDeadLetters(
  cfg: CliConfig,
  pool: pg.Pool,
  nc: NatsConnection,
  entries: readonly DeadLetterEntry[],
  onResult?: (r: ReplayResult, index: number) => void,
): Promise<ReplayResult[]> {
  const publisher = new JetStreamPublisher(nc);
  const jsm = await jetstreamManager(nc);
  const ingestPrefix = cfg.names.ingestSubject().replace(/meter_events$/, '');
  const results: ReplayResult[] = [];
  for (const [i, e] of entries.entries()) {
    let r: ReplayResult;
    try {
      const m = replayMessage(e, ingestPrefix);
      const h = natsHeaders();
      for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
      const ack = await publisher.publish(m.subject, m.data, { msgId: m.msgId, headers: h });
      if (ack.duplicate) {
        r = { ref: e.ref, outcome: 'held', detail: `${ack.stream} saw message ${m.msgId} less than 2 minutes ago: replay it again later` };
      } else {
        await remove(cfg, pool, jsm, e.ref);
        r = { ref: e.ref, outcome: 'replayed', detail: `${ack.stream} #${ack.seq}` };
      }
    } catch (err) {
      r = { ref: e.ref, outcome: 'failed', detail: (err as Error).message };
    }
    results.push(r);
    onResult?.(r, i);
  }
  publisher.close();
  return results;
}

async function remove(cfg: CliConfig, pool: pg.Pool, jsm: JetStreamManager, ref: string): Promise<void> {
  const where = parseRef(ref, cfg.names.deadLetterStream);
  if ('seq' in where) await jsm.streams.deleteMessage(where.stream, where.seq, false);
  else await pool.query(`DELETE FROM "${where.schema}".dead_letters WHERE id = $1`, [where.id]);
}

/** The entries named by reference (for `replay <ref...>`), in the order given. */
export async function findDeadLetters(
  cfg: CliConfig,
  pool: pg.Pool,
  nc: NatsConnection | undefined,
  refs: readonly string[],
): Promise<DeadLetterEntry[]> {
  const out: DeadLetterEntry[] = [];
  for (const ref of refs) {
    const where = parseRef(ref, cfg.names.deadLetterStream);
    if ('seq' in where) {
      if (!nc) throw new Error(`${ref} is in ${where.stream}: NATS is needed to read it`);
      const m = await (await jetstreamManager(nc)).streams.getMessage(where.stream, { seq: where.seq });
      if (!m) throw new Error(`no dead letter ${ref}`);
      out.push(fallbackEntry(where.stream, m.seq, m.time, m.data, m.header));
    } else {
      if (!Object.values(SERVICE_SCHEMAS).includes(where.schema as never)) throw new Error(`unknown schema in ${ref}`);
      const { rows } = await pool.query<{
        id: string;
        consumer: string;
        subject: string;
        message_id: string | null;
        data: string | null;
        headers: Record<string, string>;
        reason: string;
        recorded_at: Date;
      }>(`SELECT * FROM "${where.schema}".dead_letters WHERE id = $1`, [where.id]);
      const d = rows[0];
      if (!d) throw new Error(`no dead letter ${ref}`);
      out.push({
        ref,
        source: 'postgres',
        consumer: d.consumer,
        subject: d.subject,
        messageId: d.message_id,
        reason: d.reason,
        recordedAt: d.recorded_at,
        data: d.data ?? '',
        headers: d.headers ?? {},
      });
    }
  }
  return out;
}
