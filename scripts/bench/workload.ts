// The log every benchmark sends: ~500 B of JSON content, unique per index `i`.
import { randomUUID } from "node:crypto";

export function content(i: number): Record<string, unknown> {
  return {
    message: `GET /api/v1/orders/${i} 200 ${"lorem ipsum dolor sit amet ".repeat(12)}`,
    level: "info",
    service: "checkout",
    host: "web-17.example.internal",
    trace_id: randomUUID(),
    duration_ms: 12.5,
    i,
  };
}
