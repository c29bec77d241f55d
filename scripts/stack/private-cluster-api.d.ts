// The types of private-cluster.ts, for the apps' cluster tests: scripts/ lies outside their TypeScript projects, so
// they load the module at run time (`require(path)`, which Jest transforms) and type it with `PrivateClusterModule`.

export interface ClusterPorts {
  kafka: number;
  controller: number;
  opensearch: number;
  transport: number;
  redis: number;
}

export type ClusterNode = "kafka-1" | "kafka-2" | "kafka-3" | "opensearch-1" | "opensearch-2";

export interface PartitionState {
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface PrivateCluster {
  readonly ports: ClusterPorts;
  /** `127.0.0.1:<port>` of the three brokers, node id 1..3 in order. */
  readonly brokers: readonly string[];
  readonly opensearchUrls: readonly string[];
  brokerPort(nodeId: number): number;
  /** Partition `partition` of `topic` as the first of `askNodes` that answers reports it (default: any broker). */
  partition(topic: string, askNodes?: readonly number[], partition?: number): Promise<PartitionState | undefined>;
  /** `stop <node>`: SIGTERM, or SIGKILL at once with `force` (a crash). Throws when the CLI fails. */
  stop(node: ClusterNode, options?: { force?: boolean }): Promise<void>;
  /** `start <node>`: resolves once the node answers again. */
  start(node: ClusterNode): Promise<void>;
  /** Stops every node and removes the directory (nothing when attached). */
  down(): Promise<void>;
}

export interface PrivateClusterModule {
  clusterTestsEnabled: boolean;
  describeCluster(name: string, body: () => void): void;
  startPrivateCluster(): Promise<PrivateCluster>;
  until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T>;
}
