// Runnable example: `pnpm --filter @barito-flow/status-page build`, then from the repository root
// `node packages/status-page/examples/quick-start.mjs` and open http://127.0.0.1:8099/status (Ctrl-C to stop).
// A made-up counter stands in for a prom-client registry: anything that prints the Prometheus text format will do.
import { createServer } from "node:http";
import {
  answerStatus,
  createRateTracker,
  createStatusSource,
  numberCard,
  numberColumn,
  parseExposition,
  roundCell,
  sumBy,
  sumValues,
  tableSection,
  textColumn,
} from "@barito-flow/status-page";

const served = { "/a": 0, "/b": 0 };
setInterval(() => {
  served["/a"] += Math.round(Math.random() * 20);
  served["/b"] += Math.round(Math.random() * 5);
}, 200);
const exposition = () =>
  Object.entries(served)
    .map(([path, n]) => `http_requests_total{path="${path}"} ${n}`)
    .join("\n");

const rates = createRateTracker();
const source = createStatusSource({
  title: "example service",
  collect(now) {
    const byPath = sumBy(parseExposition(exposition()), "http_requests_total", ["path"]);
    const rate = rates.update(byPath, now);
    const values = Object.fromEntries([...byPath.keys()].map((path) => [`${path} requests/s`, rate.get(path) ?? 0]));
    return {
      values,
      charts: [{ id: "requests", title: "Requests", unit: "/s", series: Object.keys(values) }],
      sections: [
        { kind: "cards", id: "overview", title: "Overview", cards: [numberCard("requests/s", sumValues(rate))] },
        tableSection({
          id: "paths",
          title: "Requests per path",
          columns: [textColumn("path"), numberColumn("total", "requests"), numberColumn("rate", "/s")],
          rows: [...byPath].map(([path, total]) => ({ path, total, rate: roundCell(rate.get(path) ?? 0) })),
          empty: "no requests yet",
        }),
      ],
    };
  },
});
source.start();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const answer = answerStatus(source, url.pathname, url.searchParams);
  if (!answer) return res.writeHead(404).end();
  res.writeHead(answer.status, answer.headers).end(answer.body);
});
server.listen(8099, "127.0.0.1", () => console.log("open http://127.0.0.1:8099/status"));
process.once("SIGINT", () => {
  source.stop();
  server.close();
});
