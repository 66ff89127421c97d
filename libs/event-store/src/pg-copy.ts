import type pg from 'pg';

/** The part of pg's connection a query object drives (pg's `Submittable` protocol). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const CHUNK = 1 << 16;

/**
 * One simple-protocol query string with one or more `COPY … FROM STDIN` statements among others,
 * each COPY fed the next prepared buffer, through pg's query queue (a pg Submittable: the client
 * calls `submit`, then the handlers as the server answers). Outside a transaction a
 * multi-statement query string is one implicit transaction, so the COPY and what follows commit
 * together in one round trip; inside one, it runs in it. Resolves with the first column (text) of
 * the rows the statements return.
 */
class CopyQuery {
  readonly done: Promise<(string | null)[]>;
  private readonly rows: (string | null)[] = [];
  private settle!: (e?: Error) => void;
  private settled = false;
  private copies = 0;

  constructor(
    private readonly text: string,
    private readonly data: readonly Buffer[],
  ) {
    this.done = new Promise((resolve, reject) => {
      this.settle = (e) => {
        if (this.settled) return;
        this.settled = true;
        if (e) reject(e);
        else resolve(this.rows);
      };
    });
  }

  submit(connection: CopyConnection): void {
    connection.query(this.text);
    // Every COPY's data right behind the query string, without waiting for its CopyInResponse:
    // the server reads them in order as each COPY starts, so the COPYs cost no round trip of
    // their own. If the string fails before a COPY, the server ignores the copy messages that
    // arrive outside a COPY (the protocol's rule for a frontend still sending data).
    for (const data of this.data) {
      for (let i = 0; i < data.length; i += CHUNK) connection.sendCopyFromChunk(data.subarray(i, i + CHUNK));
      connection.endCopyFrom();
    }
  }

  handleCopyInResponse(connection: CopyConnection): void {
    // The data went with the query string (submit); a COPY beyond the buffers given gets none.
    if (++this.copies > this.data.length) connection.endCopyFrom();
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    this.rows.push(msg.fields[0] ?? null);
  }

  handleError(e: Error): void {
    this.settle(e);
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  handleCommandComplete(): void {}
  handleCopyData(): void {}
  handleRowDescription(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

/**
 * Runs `sql` (with one `COPY … FROM STDIN` in text format per buffer of `data`, fed in order) on
 * `client`; resolves with the first column of the rows returned. A client, not a pool: pg's pool
 * does not release a client for a query object of this kind.
 */
export function copyQuery(client: pg.ClientBase, sql: string, data: Buffer | readonly Buffer[]): Promise<(string | null)[]> {
  const q = new CopyQuery(sql, Buffer.isBuffer(data) ? [data] : data);
  void client.query(q as unknown as pg.QueryConfig);
  return q.done;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as one field of COPY's text format. */
export const copyField = (v: string): string => (SPECIAL.test(v) ? v.replace(SPECIALS, (c) => ESCAPED[c]!) : v);

/** Any column value as one field of COPY's text format: null as `\N`, booleans as `t`/`f`. */
export const copyValue = (v: string | number | bigint | boolean | null | undefined): string =>
  v === null || v === undefined ? '\\N' : typeof v === 'string' ? copyField(v) : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v);

/** One row of COPY's text format (fields tab-separated, a newline after). */
export const copyRow = (values: readonly (string | number | bigint | boolean | null | undefined)[]): string =>
  `${values.map(copyValue).join('\t')}\n`;
