import type { ScrapeSettings } from "../monitoring/scrape";

/**
 * What every data-layer component takes: its section of the stack configuration, typed from the schema
 * in infra/config (which holds every check and default of those keys), plus where it runs and who may
 * connect, which infra/platform.ts derives.
 */
export type DataComponentArgs<Config> = Config & {
  /** Namespace to run in. */
  namespace: string;
  /** Namespaces whose pods carrying the system's client label (`classroom.io/client-<system>`) may connect. */
  clientNamespaces: string[];
  /** How the stack scrapes the system's metrics endpoint; omitted: not scraped (the endpoint is served regardless). */
  scrape?: ScrapeSettings;
};
