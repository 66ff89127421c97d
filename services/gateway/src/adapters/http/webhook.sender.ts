import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { refusedAddress, type UrlPolicy } from '../../domain/url-policy.js';
import type { WebhookSender } from '../../application/ports.js';

/**
 * POSTs a webhook with node:http(s). Every address the URL's host resolves to is checked against
 * the URL policy as the connection is made (a name can point somewhere new after the endpoint was
 * saved), and the whole attempt, connection to status line, is bounded by `timeoutMs`.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly lookup: LookupFunction;

  constructor(private readonly policy: UrlPolicy) {
    this.lookup = ((hostname: string, options: { all?: boolean; family?: number }, cb: (...args: unknown[]) => void) => {
      dnsLookup(hostname, { family: options.family ?? 0, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return cb(err);
        for (const a of addresses) {
          const why = refusedAddress(a.address, this.policy);
          if (why) return cb(new Error(`refused: ${hostname} resolves to ${why}`));
        }
        if (options.all) return cb(null, addresses);
        const first = addresses[0];
        if (!first) return cb(new Error(`${hostname} has no address`));
        cb(null, first.address, first.family);
      });
    }) as unknown as LookupFunction;
  }

  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<{ status: number | null; error: string | null }> {
    return new Promise((resolve) => {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return resolve({ status: null, error: `invalid URL ${url}` });
      }
      const host = u.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0) {
        const why = refusedAddress(host, this.policy);
        if (why) return resolve({ status: null, error: `refused: ${why}` });
      }
      let settled = false;
      const done = (r: { status: number | null; error: string | null }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const mod = u.protocol === 'https:' ? https : http;
      const req = mod.request(
        u,
        { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: this.lookup },
        (res) => {
          // The status is the answer; the body is read and dropped (a receiver may stream a large one).
          res.resume();
          res.on('error', () => undefined);
          done({ status: res.statusCode ?? null, error: null });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        done({ status: null, error: `timed out after ${timeoutMs} ms` });
      }, timeoutMs);
      req.on('error', (e) => done({ status: null, error: e.message }));
      req.end(body);
    });
  }
}
