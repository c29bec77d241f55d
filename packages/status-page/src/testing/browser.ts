// Test support: a status page in Debian's headless chromium, driven by playwright-core, with every console error,
// page error and request to another origin recorded as a problem the test fails on.
import { type Browser, chromium, type Page } from "playwright-core";

export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

export interface OpenedPage {
  page: Page;
  /** Console errors, uncaught page errors, failed requests and requests that left the page's origin. */
  problems: string[];
  close(): Promise<void>;
}

export async function openInChromium(
  url: string,
  options: { executablePath?: string; viewport?: { width: number; height: number } } = {},
): Promise<OpenedPage> {
  const browser: Browser = await chromium.launch({
    executablePath: options.executablePath ?? "/usr/bin/chromium",
    headless: true,
    args: chromiumArgs,
  });
  const problems: string[] = [];
  try {
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 900 } });
    const origin = new URL(url).origin;
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("request", (request) => {
      const target = request.url();
      if (!target.startsWith("data:") && new URL(target).origin !== origin) problems.push(`foreign request: ${target}`);
    });
    page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
    const response = await page.goto(url, { waitUntil: "load" });
    if (!response?.ok()) problems.push(`page answered ${String(response?.status())}`);
    return { page, problems, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/**
 * What chart `id` currently draws (set by the page's script): `points`, samples with a value; `nonzero`, samples
 * with a value other than 0 (traffic, not just an idle line).
 */
export async function chartPoints(page: Page, id: string): Promise<{ points: number; nonzero: number }> {
  const read = async (name: string) => Number((await page.getAttribute(`#chart-${id}`, name).catch(() => null)) ?? 0);
  return { points: await read("data-points"), nonzero: await read("data-nonzero") };
}

/** The text of each cell of table `id`'s data rows. */
export async function tableRows(page: Page, id: string): Promise<string[][]> {
  const rows = page.locator(`#table-${id} tbody tr.row`);
  const out: string[][] = [];
  for (let i = 0, n = await rows.count(); i < n; i++) out.push(await rows.nth(i).locator("td").allTextContents());
  return out;
}
