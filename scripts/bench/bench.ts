// `pnpm bench producer|consumer|memory`: one benchmark per run (producer.ts, consumer.ts, memory.ts).
const target = process.argv[2] ?? "producer";
if (target === "producer") await (await import("./producer.ts")).benchProducer();
else if (target === "consumer") await (await import("./consumer.ts")).benchConsumer();
else if (target === "memory") await (await import("./memory.ts")).benchMemory();
else {
  console.error(`unknown benchmark '${target}'; available: producer, consumer, memory`);
  process.exit(2);
}
