import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (not a browser build downloaded by Playwright: none can be fetched here). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Makes sure Chromium is there: as root with apt it installs Debian's package (CI runs as root);
 * anywhere else it fails saying the one command to run.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const root = process.getuid?.() === 0;
  if (root && existsSync('/usr/bin/apt-get')) {
    console.warn(`[console e2e] ${CHROMIUM} is missing: installing Debian's chromium (apt-get install -y chromium)`);
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], {
      stdio: 'inherit',
      timeout: 600_000,
    });
    if (existsSync(CHROMIUM)) return;
  }
  throw new Error(
    `The console test needs Chromium at ${CHROMIUM} (or set CHROMIUM_PATH). Install it with: sudo apt-get install -y chromium` +
      (root ? ' (apt-get is not available here)' : ''),
  );
}

export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
