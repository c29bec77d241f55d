import { readFileSync } from "node:fs";

const cgroupLimitFiles = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"];

/**
 * The memory limit of the process's cgroup (a container's `--memory`, a pod's `limits.memory`), or undefined when
 * there is none. cgroup v2 says `max` for no limit; v1 gives a huge number instead.
 */
export function containerMemoryLimit(read: (path: string) => string = (path) => readFileSync(path, "utf8")) {
  for (const file of cgroupLimitFiles) {
    let text: string;
    try {
      text = read(file).trim();
    } catch {
      continue;
    }
    const bytes = Number(text);
    return Number.isSafeInteger(bytes) && bytes > 0 && bytes < 2 ** 62 ? bytes : undefined;
  }
  return undefined;
}
