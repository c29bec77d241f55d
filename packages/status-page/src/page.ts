import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { clientScript } from "./client.js";

const styles = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #111827; }
header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px; background: #111827; color: #f9fafb; }
header h1 { font-size: 18px; margin: 0; }
header .ok { color: #4ade80; } header .bad { color: #f87171; }
#error { background: #fee2e2; color: #991b1b; padding: 8px 20px; margin: 0; }
main { padding: 12px 20px; }
#charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
#sections { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px; margin-top: 12px; }
.panel { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 10px 14px; overflow: auto; }
.panel h2 { font-size: 14px; margin: 0 0 8px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { border: 1px solid #e5e7eb; border-radius: 4px; padding: 6px 10px; min-width: 110px; }
.card .label { font-size: 12px; color: #6b7280; } .card .value { font-size: 16px; font-weight: 600; }
.card.ok { border-color: #86efac; } .card.warn { border-color: #fcd34d; background: #fffbeb; }
.card.bad { border-color: #fca5a5; background: #fef2f2; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #f3f4f6; white-space: nowrap; }
th.sortable { cursor: pointer; user-select: none; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #9ca3af; }
`;

let uplot: { js: string; css: string } | undefined;

/** uPlot's browser build and stylesheet, read once from the installed package. */
function uplotAssets(): { js: string; css: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    const read = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), "utf8");
    uplot = { js: read("uPlot.iife.min.js"), css: read("uPlot.min.css") };
  }
  return uplot;
}

/**
 * The Content-Security-Policy the page is served with: inline script and style only, requests to its own origin
 * only. It is what makes "no CDN, no network fetch" hold in the browser, not just in the markup.
 */
export const statusPageCsp =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";

const pages = new Map<string, string>();

/** The whole page, self-contained: uPlot, its stylesheet and the client inlined (about 65 kB; built once per title). */
export function renderStatusPage(title: string): string {
  let page = pages.get(title);
  if (page === undefined) {
    const { js, css } = uplotAssets();
    page = [
      "<!doctype html>",
      '<html lang="en"><head><meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${escapeHtml(title)}</title>`,
      `<style>${css}\n${styles}</style>`,
      "</head><body>",
      `<header><h1 id="title">${escapeHtml(title)}</h1><span id="conn">connecting…</span><span id="updated"></span></header>`,
      '<p id="error" hidden></p>',
      '<main id="status"><div id="charts"></div><div id="sections"></div></main>',
      `<script>${js}</script>`,
      `<script>${clientScript}</script>`,
      "</body></html>",
    ].join("\n");
    if (pages.size < 8) pages.set(title, page);
  }
  return page;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
