import { ProduceError } from "./produce-error.js";

/**
 * The producer's memory bound: bytes and records of requests taken but not yet answered (a request is answered once
 * Kafka acknowledged it, so this covers librdkafka's queue too). Each request holds one `Reservation`, grown as its
 * size becomes known (declared length, bytes read, decompressed size, encoded records) and released when it is done.
 * A reservation that cannot grow is refused with OVERLOADED (503 + Retry-After) and changes nothing.
 */
export interface InFlightBudget {
  readonly maxBytes: number;
  readonly maxRecords: number;
  usage(): { bytes: number; records: number };
  open(): Reservation;
}

export interface Reservation {
  readonly bytes: number;
  readonly records: number;
  /** Grows to at least `bytes` / `records`; throws OVERLOADED (or PAYLOAD_TOO_LARGE above the whole budget) if it cannot. */
  reserve(bytes: number, records?: number): void;
  /** Bytes of the budget free right now. */
  available(): number;
  /** Lowers the byte count to `bytes` when the request's data shrank (the compressed body was dropped). */
  shrinkTo(bytes: number): void;
  /**
   * Another holder (the produce call, which may outlive the client's connection): the reservation is freed when the
   * opener's `release` and every hold's release have run. Each release function is idempotent.
   */
  hold(): () => void;
  /** The opener's release; idempotent. */
  release(): void;
}

/** How long a refused client should wait: requests in flight are answered within milliseconds to seconds. */
export const overloadedRetryAfterMs = 1_000;

export function overloaded(what: string): ProduceError {
  return new ProduceError("OVERLOADED", `the producer holds as many ${what} in flight as it may; retry shortly`, {
    retryAfterMs: overloadedRetryAfterMs,
  });
}

export function createInFlightBudget(limits: { maxBytes: number; maxRecords: number }): InFlightBudget {
  const { maxBytes, maxRecords } = limits;
  let bytesInUse = 0;
  let recordsInUse = 0;

  function open(): Reservation {
    let bytes = 0;
    let records = 0;
    let holders = 1;
    let released = false;
    const free = () => {
      if (--holders > 0) return;
      released = true;
      bytesInUse -= bytes;
      recordsInUse -= records;
      bytes = 0;
      records = 0;
    };
    const once = () => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        free();
      };
    };
    const releaseOpener = once();
    return {
      get bytes() {
        return bytes;
      },
      get records() {
        return records;
      },
      reserve(wantBytes, wantRecords = records) {
        if (released) throw new Error("reservation already released");
        const moreBytes = Math.max(0, wantBytes - bytes);
        const moreRecords = Math.max(0, wantRecords - records);
        // A request bigger than the whole budget would be refused forever: that is its size, not the load.
        if (wantBytes > maxBytes || wantRecords > maxRecords) throw tooLarge(wantBytes, wantRecords, limits);
        if (bytesInUse + moreBytes > maxBytes) throw overloaded("bytes (BARITO_PRODUCER_MAX_INFLIGHT_BYTES)");
        if (recordsInUse + moreRecords > maxRecords) throw overloaded("records (BARITO_PRODUCER_MAX_INFLIGHT_RECORDS)");
        bytesInUse += moreBytes;
        recordsInUse += moreRecords;
        bytes += moreBytes;
        records += moreRecords;
      },
      available() {
        return released ? 0 : Math.max(0, maxBytes - bytesInUse);
      },
      shrinkTo(wantBytes) {
        if (released || wantBytes >= bytes) return;
        bytesInUse -= bytes - Math.max(0, wantBytes);
        bytes = Math.max(0, wantBytes);
      },
      hold() {
        if (released) return () => {};
        holders++;
        return once();
      },
      release: releaseOpener,
    };
  }

  return { maxBytes, maxRecords, usage: () => ({ bytes: bytesInUse, records: recordsInUse }), open };
}

function tooLarge(bytes: number, records: number, limits: { maxBytes: number; maxRecords: number }): ProduceError {
  const details =
    bytes > limits.maxBytes
      ? [
          {
            field: "body",
            reason: `needs ${bytes} bytes in flight; the producer holds at most ${limits.maxBytes} (BARITO_PRODUCER_MAX_INFLIGHT_BYTES)`,
          },
        ]
      : [
          {
            field: "items",
            reason: `${records} records; the producer holds at most ${limits.maxRecords} in flight (BARITO_PRODUCER_MAX_INFLIGHT_RECORDS)`,
          },
        ];
  return new ProduceError("PAYLOAD_TOO_LARGE", `request larger than the producer's in-flight limit`, { details });
}
