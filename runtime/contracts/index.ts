/**
 * What the platform definition (infra/) and the runtime must agree on, in one place both import: the
 * jobs file the scheduler reads and the stack schema validates, and the environment each daemon and
 * each rpc pod is given. infra/ imports this through the workspace package, so the two cannot drift.
 */
export { jobsSchema, parseJobs, JobConfigError } from "../scheduler/job-schema";
export type { JobsSpec, JobSpec } from "../scheduler/job-schema";
export { ENV as DISCOVERY_ENV } from "../discovery/env";
export { REDIS_ENV, KAFKA_ENV, LOG_ENV, MQ_ENV, SCHEDULER_ENV, MQ_DEFAULTS, EnvReader, EnvConfigError, describeRedis } from "./env";
export type { RedisTarget } from "./env";
