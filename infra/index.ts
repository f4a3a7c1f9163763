import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config";
import { platformProgram } from "./program";

// A RunError is reported by the Pulumi CLI as a plain message, without a stack trace: bad config is the
// user's input, not a bug.
function run() {
  try {
    return platformProgram();
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(`invalid stack configuration:\n${err.message}`);
    throw err;
  }
}

export = run();
