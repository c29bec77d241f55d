// barito-flow's `error` label of barito_consumer_log_stored_total (barito-flow.md §7.8). The Go original iterates a
// map, so overlapping substrings ("the final mapping" vs "mapping") were classified at random; here the table is
// ordered, most specific first, so the label is stable.
const LABELS: ReadonlyArray<readonly [string, string]> = [
  ["the final mapping", "multiple_type"],
  ["to parse field", "mapping_failed"],
  ["mapping", "mapping_failed"],
  ["mapper", "mapping_failed"],
  ["Data too large", "data_too_large"],
  ["TransportService is closed", "request_error_transport_service_closed"],
  ["Node not connected", "node_not_connected"],
  ["primary shard is not active", "inactive_primary_shard"],
  ["no such shard", "no_such_shard"],
  ["index read-only", "index_read_only"],
  ["Limit of total fields", "limit_of_total_fields_excedeed"], // sic: the Go label, kept for dashboard compatibility
  ["maximum shards open", "maximum_shards_open"],
];

const CAUSED_BY = "; caused by: ";

function match(text: string): string | undefined {
  return LABELS.find(([needle]) => text.includes(needle))?.[1];
}

/**
 * Maps a rejection reason (as in `ItemOutcome.reason`, "reason; caused by: cause") to barito's error label:
 * the reason is tried first, then the cause; "undefined_error" when nothing matches, "" when there is no reason.
 */
export function baritoErrorLabel(reason: string | undefined): string {
  if (!reason) return "";
  const at = reason.indexOf(CAUSED_BY);
  const own = at === -1 ? reason : reason.slice(0, at);
  const cause = at === -1 ? "" : reason.slice(at + CAUSED_BY.length);
  return match(own) ?? match(cause) ?? "undefined_error";
}

/** Barito's `index` label: the index name without its `-YYYY.MM.DD` suffix. */
export function baritoIndexLabel(index: string): string {
  return index.replace(/-\d{4}\.\d{2}\.\d{2}$/, "");
}
