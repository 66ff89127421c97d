import type pg from 'pg';

/** The part of pg's connection a query object drives (pg's `Submittable` protocol). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const CHUNK = 1 << 16;

/**
 * One simple-protocol query string that starts with `COPY … FROM STDIN` and may go on with more
 * statements, fed one prepared buffer, through pg's query queue (a pg Submittable: the client
 * calls `submit`, then the handlers as the server answers). A multi-statement query string is one
 * implicit transaction, so the COPY and what follows commit together in one round trip. Resolves
 * with the first column (text) of the rows the statements return.
 */
class CopyQuery {
  readonly done: Promise<(string | null)[]>;
  private readonly rows: (string | null)[] = [];
  private settle!: (e?: Error) => void;
  private settled = false;

  constructor(
    private readonly text: string,
    private readonly data: Buffer,
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
  }

  handleCopyInResponse(connection: CopyConnection): void {
    for (let i = 0; i < this.data.length; i += CHUNK) connection.sendCopyFromChunk(this.data.subarray(i, i + CHUNK));
    connection.endCopyFrom();
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
 * Runs `sql` (its first statement `COPY … FROM STDIN`, text format, fed `data`) on `client` as one
 * implicit transaction; resolves with the first column of the rows returned.
 */
export function copyQuery(client: pg.ClientBase, sql: string, data: Buffer): Promise<(string | null)[]> {
  const q = new CopyQuery(sql, data);
  void client.query(q as unknown as pg.QueryConfig);
  return q.done;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as one field of COPY's text format. */
export const copyField = (v: string): string => (SPECIAL.test(v) ? v.replace(SPECIALS, (c) => ESCAPED[c]!) : v);
