export * from "./gen/producer/producer_pb.js";
