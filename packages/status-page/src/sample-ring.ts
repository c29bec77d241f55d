/** One point in time: the values of every series the page charts, by series name. */
export interface Sample {
  /** Unix time in milliseconds. */
  t: number;
  v: Record<string, number>;
}

/** A fixed-capacity ring of samples, oldest first. Pushing into a full ring overwrites the oldest sample. */
export interface SampleRing {
  push(sample: Sample): void;
  /** The samples newer than `afterT` (all of them without it), oldest first. */
  since(afterT?: number): Sample[];
  latest(): Sample | undefined;
  /** The newest sample at least `ageMs` older than the latest (the oldest one when none is that old). */
  before(ageMs: number): Sample | undefined;
  readonly size: number;
  readonly capacity: number;
}

export function createSampleRing(capacity: number): SampleRing {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be a positive integer, got ${String(capacity)}`);
  }
  const slots: Array<Sample | undefined> = new Array(capacity);
  let next = 0;
  let size = 0;
  const at = (i: number) => slots[(next - size + i + capacity) % capacity] as Sample;
  return {
    capacity,
    get size() {
      return size;
    },
    push(sample) {
      slots[next] = sample;
      next = (next + 1) % capacity;
      size = Math.min(capacity, size + 1);
    },
    since(afterT) {
      const out: Sample[] = [];
      for (let i = 0; i < size; i++) {
        const sample = at(i);
        if (afterT === undefined || sample.t > afterT) out.push(sample);
      }
      return out;
    },
    latest: () => (size === 0 ? undefined : at(size - 1)),
    before(ageMs) {
      if (size === 0) return undefined;
      const newest = at(size - 1).t;
      for (let i = size - 1; i >= 0; i--) {
        const sample = at(i);
        if (newest - sample.t >= ageMs) return sample;
      }
      return at(0);
    },
  };
}
