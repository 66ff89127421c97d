import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as the receiver keeps it (enough to draw the tree of a trace). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  service: string;
  links: string[];
}

interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: {
      spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; links?: { traceId: string }[] }[];
    }[];
  }[];
}

const MAX_SPANS = 500_000;

/**
 * The services' span exporter, in memory: an OTLP/HTTP JSON receiver (`POST /v1/traces`, what
 * `@opentelemetry/exporter-trace-otlp-http` sends) that keeps every span by trace id, and answers
 * `GET /spans?trace_id=...` for the tests. The e2e stack exports to it.
 */
export async function startOtlpReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const byTrace = new Map<string, ReceivedSpan[]>();
  let count = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/spans') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(byTrace.get(url.searchParams.get('trace_id') ?? '') ?? []));
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/traces') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson;
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) {
              if (count >= MAX_SPANS) break;
              const span: ReceivedSpan = {
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId || null,
                name: s.name,
                kind: s.kind,
                service,
                links: (s.links ?? []).map((l) => l.traceId),
              };
              const list = byTrace.get(s.traceId) ?? [];
              list.push(span);
              byTrace.set(s.traceId, list);
              count++;
            }
        }
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      } catch {
        res.statusCode = 400;
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
