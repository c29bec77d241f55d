// Integration tests (*.it.test.ts) wait on real servers: topic creation, rebalances, bulk refreshes. A test that
// needs longer still says so itself (a third argument to it()).
require("@jest/globals").jest.setTimeout(60_000);
