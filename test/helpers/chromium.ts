// Debian's Chromium driven by playwright-core, started the way this machine's network needs: headless, no
// sandbox (tests run as root), no GPU, and none of Chromium's own calls home.
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** What a page did that it should not: CSP violations it reported, requests that left `base`, script errors. */
export function watchPage(page: Page, base: string) {
  const seen = { violations: [] as string[], elsewhere: [] as string[], failed: [] as string[] };
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) seen.violations.push(message.text());
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:'))
      seen.elsewhere.push(request.url());
  });
  page.on('pageerror', (error) => seen.failed.push(error.message));
  return seen;
}

/** The clean record watchPage should end with. */
export const NOTHING_WRONG = { violations: [], elsewhere: [], failed: [] };
