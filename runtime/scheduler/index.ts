/** The second-level scheduler (replaces XXL-Job). See README.md for the deployment contract. */
export { Scheduler } from "./scheduler";
export { Router } from "./routing";
export { RunHistory, outcomes } from "./history";
export type { Outcome, HistoryEntry, Counters } from "./history";
export type { JobContext, JobHandler, HandlerModule, HandlerModuleContext } from "./handlers";
export { parseJobs, jobsSchema, jobSchema, JobConfigError, withDefaults, blockStrategies, misfireStrategies, routingStrategies } from "./job-schema";
export type { Job, JobSpec, JobsSpec, BlockStrategy, MisfireStrategy, RoutingStrategy } from "./job-schema";
export { readStatus, formatStatus } from "./status";
export { SchedulerMetrics } from "./metrics";
export type { MissReason } from "./metrics";
