import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { RPC_BATCH_HEADERS_MARK } from '@meterflow/contracts';

/**
 * The batched request/reply form (`rpcBatchSubject`), both directions in one place: requests one
 * per line, each after its own headers when it has any (`~{"traceparent":"…"}<TAB>{request}`),
 * and replies one per line in the same order. JSON texts as `JSON.stringify` writes them hold no
 * raw line break or tab.
 */
export const joinBatch = (texts: readonly string[]): string => texts.join('\n');
export const splitBatch = (text: string): string[] => text.split('\n');

/** A request's line: its JSON text, after its headers when it has any. */
export function encodeBatchLine(payload: string, headers: MsgHdrs | undefined): string {
  if (!headers) return payload;
  const h: Record<string, string> = {};
  for (const k of headers.keys()) h[k] = headers.get(k);
  return `${RPC_BATCH_HEADERS_MARK}${JSON.stringify(h)}\t${payload}`;
}

/** A request's line read back: its own headers (else the message's) and its JSON text. */
export function decodeBatchLine(line: string, common: MsgHdrs | undefined): { headers: MsgHdrs | undefined; body: string } {
  if (!line.startsWith(RPC_BATCH_HEADERS_MARK)) return { headers: common, body: line };
  const tab = line.indexOf('\t');
  // A malformed line: its request text fails to parse and answers its own error.
  if (tab < 0) return { headers: common, body: line };
  const h = natsHeaders();
  try {
    for (const [k, v] of Object.entries(JSON.parse(line.slice(1, tab)) as Record<string, unknown>)) h.set(k, String(v));
  } catch {
    return { headers: common, body: line };
  }
  return { headers: h, body: line.slice(tab + 1) };
}
