import { stringify } from "yaml";
import { RuleGroup } from "./rules";

/**
 * The groups as a Prometheus rules file (`groups:` at the top), the format `promtool check rules` and
 * `promtool test rules` read and a Prometheus without the operator loads through `rule_files`. The
 * PrometheusRule's `spec.groups` is the same list.
 */
export function rulesFileYaml(groups: RuleGroup[]): string {
  return stringify({ groups }, { lineWidth: 0 });
}
