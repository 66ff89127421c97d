import cliProgress from 'cli-progress';
import ora, { type Ora } from 'ora';
import pc from 'picocolors';
import type { ProgressListener, ProgressUpdate } from '@meterflow/contracts';
import { formatDuration, progressText } from './format.js';

/** One unit of long work as the operator sees it: a bar (known total) or a spinner, then a result line. */
export interface Progress {
  update(done: number, opts?: { total?: number; detail?: string }): void;
  succeed(message?: string): void;
  fail(message?: string): void;
}

export interface ProgressOptions {
  total?: number;
  unit?: string;
  /** Defaults to stderr (stdout stays for results and JSON). */
  stream?: NodeJS.WriteStream;
  /** Plain output (not a terminal): one line at most this often. */
  logEveryMs?: number;
}

/**
 * A terminal gets a live bar with percentage and ETA (cli-progress), or an ora spinner while the
 * total is unknown; a pipe or CI log gets a plain line every few seconds with the same numbers.
 */
export function startProgress(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY && !process.env.CI ? new TerminalProgress(label, opts, stream) : new LogProgress(label, opts, stream);
}

/** A job that reports phases (`ProgressUpdate`s): one bar per phase, a new phase ends the previous one. */
export interface PhasedProgress {
  listener: ProgressListener;
  succeed(): void;
  fail(): void;
}

export function startPhasedProgress(label: string, opts: Omit<ProgressOptions, 'total' | 'unit'> = {}): PhasedProgress {
  let current: { phase: string; bar: Progress } | undefined;
  return {
    listener: (p: ProgressUpdate) => {
      if (current?.phase !== p.phase) {
        current?.bar.succeed();
        current = { phase: p.phase, bar: startProgress(`${label} ${p.phase}`, { ...opts, total: p.total, unit: p.unit }) };
      }
      current.bar.update(p.done, { total: p.total });
    },
    succeed: () => current?.bar.succeed(),
    fail: () => current?.bar.fail(),
  };
}

class TerminalProgress implements Progress {
  private bar: cliProgress.SingleBar | undefined;
  private spinner: Ora | undefined;
  private readonly started = Date.now();
  private total: number;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly opts: ProgressOptions,
    private readonly stream: NodeJS.WriteStream,
  ) {
    this.total = opts.total ?? 0;
    if (this.total > 0) this.startBar();
    else this.spinner = ora({ text: label, stream }).start();
  }

  private startBar(): void {
    this.spinner?.stop();
    this.spinner = undefined;
    const unit = this.opts.unit ? ` ${this.opts.unit}` : '';
    this.bar = new cliProgress.SingleBar(
      {
        format: `${this.label} ${pc.cyan('{bar}')} {percentage}% | {value}/{total}${unit} | ETA {eta_formatted} | {detail}`,
        stream: this.stream,
        hideCursor: true,
        etaBuffer: 50,
        formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.total, this.done, { detail: '' });
  }

  update(done: number, o: { total?: number; detail?: string } = {}): void {
    this.done = done;
    if (o.total !== undefined && o.total !== this.total) {
      this.total = o.total;
      if (this.total > 0 && !this.bar) this.startBar();
      else this.bar?.setTotal(this.total);
    }
    if (this.bar) this.bar.update(done, { detail: o.detail ?? '' });
    else if (this.spinner) this.spinner.text = progressText({ ...this.state(), detail: o.detail });
  }

  private state() {
    return { label: this.label, done: this.done, total: this.total, unit: this.opts.unit ?? '', elapsedMs: Date.now() - this.started };
  }

  private end(ok: boolean, message?: string): void {
    const text = message ?? `${this.label} (${formatDuration((Date.now() - this.started) / 1000)})`;
    if (this.bar) {
      this.bar.stop();
      this.stream.write(`${ok ? pc.green('✔') : pc.red('✖')} ${text}\n`);
    } else if (this.spinner) {
      if (ok) this.spinner.succeed(text);
      else this.spinner.fail(text);
    }
  }

  succeed(message?: string): void {
    this.end(true, message);
  }

  fail(message?: string): void {
    this.end(false, message);
  }
}

class LogProgress implements Progress {
  private readonly started = Date.now();
  private lastLog = 0;
  private total: number;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly opts: ProgressOptions,
    private readonly stream: NodeJS.WriteStream,
  ) {
    this.total = opts.total ?? 0;
    this.stream.write(`${label}...\n`);
    this.lastLog = Date.now();
  }

  update(done: number, o: { total?: number; detail?: string } = {}): void {
    this.done = done;
    if (o.total !== undefined) this.total = o.total;
    const now = Date.now();
    if (now - this.lastLog < (this.opts.logEveryMs ?? 5_000)) return;
    this.lastLog = now;
    this.stream.write(
      `${progressText({ label: this.label, done, total: this.total, unit: this.opts.unit ?? '', elapsedMs: now - this.started, detail: o.detail })}\n`,
    );
  }

  succeed(message?: string): void {
    this.stream.write(`ok: ${message ?? `${this.label} (${formatDuration((Date.now() - this.started) / 1000)})`}\n`);
  }

  fail(message?: string): void {
    this.stream.write(`failed: ${message ?? this.label}\n`);
  }
}
