export { BufferedProducer, BufferedProducerOptions, MqSendError, SendPath, SendResult } from "./producer";
export { Replayer, ReplayerEvent, ReplayerOptions } from "./replayer";
export { Deduplicator, DeduplicatorOptions } from "./dedupe";
export { connectRedis, RedisTarget } from "./redis";
export { MESSAGE_ID_HEADER, MqMessage, parseMessageId, shardOf } from "./message";
export { parseReplayerConfig, ReplayerConfig, ConfigError } from "./config";
export { ReplayerMetrics } from "./metrics";
